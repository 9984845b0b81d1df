"""The workshop's regional API: a Chalice project (`chalice deploy` from this directory).

`app.py` is Chalice's entry point; the routes live in `chalicelib/routes.py` so the local emulator
can build the same app per region with an injected DynamoDB client.
"""
