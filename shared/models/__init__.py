"""Peewee models of the vmail, iredapd, iredadmin and amavisd databases, with iRedMail's
names."""

from shared.models.amavisd import AMAVISD_MODELS
from shared.models.iredadmin import IREDADMIN_MODELS
from shared.models.iredapd import IREDAPD_MODELS
from shared.models.vmail import VMAIL_MODELS

MODELS_BY_DATABASE = {
    "vmail": VMAIL_MODELS,
    "iredapd": IREDAPD_MODELS,
    "iredadmin": IREDADMIN_MODELS,
    "amavisd": AMAVISD_MODELS,
}
