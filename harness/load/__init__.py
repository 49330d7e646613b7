"""The load gate (`gate`) and its machinery: owned processes (`processes`), the server under test
(`server`), Locust runs (`locust`).

Locust is only ever run as a subprocess: importing it monkey-patches the standard library.
"""
