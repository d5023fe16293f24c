"""The ceiling: a minimal Falcon app answering a fixed envelope, same gunicorn settings."""

import falcon

BODY = b'{"_success":true,"_data":{"domain":"bench.example.com"}}'


class Fixed:
    def on_get(self, req, resp, **_params):
        resp.content_type = "application/json; charset=utf-8"
        resp.data = BODY


def get_app():
    app = falcon.App()
    app.add_route("/domain/{domain}", Fixed())
    app.add_route("/user/{mail}", Fixed())
    return app
