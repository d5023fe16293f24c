"""The LDIF service: SQL accounts as iRedMail's OpenLDAP entries (CONTRACT §4.10)."""
