"""Server-rendered pages of the identity service (sign-in and its messages), in the user's language.

Texts live in ``MESSAGES`` per language; the language comes from ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")
DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "sign_in_title": "Sign in to Kairos",
        "email": "E-mail address",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_in_failed": "The e-mail address or the password is not right.",
        "csrf_failed": "This form has expired. Go back, reload the page and try again.",
        "signed_in": "You are signed in.",
        "signed_out": "You are signed out.",
        "error_title": "Something went wrong",
        "skip": "Skip to the form",
    },
    "fr": {
        "sign_in_title": "Connexion à Kairos",
        "email": "Adresse e-mail",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "sign_in_failed": "L’adresse e-mail ou le mot de passe est incorrect.",
        "csrf_failed": "Ce formulaire a expiré. Revenez en arrière, rechargez la page et réessayez.",
        "signed_in": "Vous êtes connecté.",
        "signed_out": "Vous êtes déconnecté.",
        "error_title": "Une erreur est survenue",
        "skip": "Aller au formulaire",
    },
}

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in MESSAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in MESSAGES:
            return code
    return DEFAULT_LANGUAGE


def text(request: Request, key: str) -> str:
    return MESSAGES[language(request)][key]


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    lang = language(request)
    html = _environment.get_template(template).render(lang=lang, t=MESSAGES[lang], **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
