"""The hub's console in the browser, for township and county operators (not IT people):
server-rendered pages on the hub's own port and TLS, no build step, every asset served by
the hub (no CDN), charts drawn as SVG on the server.

    routes.py     the sign-in, overview, branch, terminals, 待处理 and 操作记录 pages
                  (mounted on the hub app by sync.hub.app)
    web.py        what every handler shares: templates, the signed-in operator, a page,
                  a refusal, a form that changes something (CSRF)
    sessions.py   browser sessions: cookie token (kept hashed), idle sign-out, CSRF
    views.py      what each page shows, from the same service functions the CLI calls
    routes_content.py, views_content.py   the 内容 page: lessons (audio upload), notices,
                  dues policy, staff accounts and PIN resets
    charts.py     SVG charts
    templates/    Jinja2 pages (Simplified Chinese);  static/  one stylesheet, the scripts
"""

from .routes import mount

__all__ = ["mount"]
