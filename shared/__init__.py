"""Code shared by the gateway and the services: configuration, models, rules, app factory.

Importing this package has no side effects: no connection, no environment read.
"""
