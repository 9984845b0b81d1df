"""Code shipped with the regional API Lambda function (Chalice bundles this package)."""
