"""Chalice entry point: `chalice deploy` in setup/api deploys this app to AWS_DEFAULT_REGION.

In Lambda the region comes from AWS_REGION and the table name from TABLE_NAME
(.chalice/config.json); the routes are in chalicelib/routes.py.
"""

from chalicelib.routes import create_app

app = create_app()
