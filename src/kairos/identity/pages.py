"""Server-rendered pages of the identity service (sign-in, second factor, and their messages), in the user's
language.

Texts live in ``MESSAGES`` per language; the language comes from ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kairos.identity.account_texts import PAGE_MESSAGES
from kairos.identity.consent_texts import CONSENT_MESSAGES
from kairos.identity.federation_texts import FEDERATION_MESSAGES

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
        "throttled": "Too many attempts. Wait {wait}, then try again.",
        "password_disabled": "Signing in with this password is blocked after too many failed attempts. "
        "Reset your password to sign in again.",
        "codes_disabled": "Signing in with a code is blocked after too many wrong codes. "
        "Ask your administrator to reset your two-step sign-in.",
        "second": "1 second",
        "seconds": "{n} seconds",
        "minutes": "{n} minutes",
        "code_title": "Enter your security code",
        "code_help": "Open your authenticator app and type the 6-digit code it shows for Kairos.",
        "code_label": "Security code",
        "code_wrong": "That code is not right, or it has been used already. Wait for the next code and try again.",
        "verify": "Continue",
        "use_recovery_code": "Use a recovery code instead",
        "recovery_code_label": "Recovery code",
        "enrol_title": "Set up two-step sign-in",
        "enrol_help": "Your account needs a second step when you sign in: a code from an authenticator app on your "
        "phone. Scan this QR code with the app (for example FreeOTP, Aegis or Google Authenticator).",
        "qr_label": "QR code that adds Kairos to your authenticator app",
        "secret_label": "If you cannot scan it, type this key into the app:",
        "first_code_label": "Code shown by the app",
        "enrol_confirm": "Turn on two-step sign-in",
        "enrol_wrong": "That code is not right. Check the time on your phone, then type the code the app shows now.",
        "already_enrolled": "Two-step sign-in is already set up for this account.",
        "enrolled_title": "Two-step sign-in is on",
        "recovery_help": "Keep these recovery codes somewhere safe. If you lose your phone, type one of them "
        "instead of a code from the app. Each works once. They are shown only now.",
        "recovery_codes": "Recovery codes",
        "continue": "Continue",
        "passkey_heading": "Passkey",
        "passkey_sign_in": "Sign in with a passkey",
        "passkey_sign_in_help": "No password needed: your device asks for your fingerprint, face or PIN.",
        "passkey_sign_in_failed": "That passkey did not sign you in. Try again, or use your password.",
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
        "throttled": "Trop de tentatives. Attendez {wait}, puis réessayez.",
        "password_disabled": "La connexion avec ce mot de passe est bloquée après trop d’échecs. "
        "Réinitialisez votre mot de passe pour vous connecter de nouveau.",
        "codes_disabled": "La connexion par code est bloquée après trop de codes erronés. "
        "Demandez à votre administrateur de réinitialiser votre connexion en deux étapes.",
        "second": "1 seconde",
        "seconds": "{n} secondes",
        "minutes": "{n} minutes",
        "code_title": "Saisissez votre code de sécurité",
        "code_help": "Ouvrez votre application d’authentification et saisissez le code à 6 chiffres qu’elle "
        "affiche pour Kairos.",
        "code_label": "Code de sécurité",
        "code_wrong": "Ce code est incorrect ou a déjà été utilisé. Attendez le code suivant et réessayez.",
        "verify": "Continuer",
        "use_recovery_code": "Utiliser plutôt un code de secours",
        "recovery_code_label": "Code de secours",
        "enrol_title": "Configurer la connexion en deux étapes",
        "enrol_help": "Votre compte demande une seconde étape à la connexion : un code d’une application "
        "d’authentification sur votre téléphone. Scannez ce code QR avec l’application (par exemple FreeOTP, "
        "Aegis ou Google Authenticator).",
        "qr_label": "Code QR qui ajoute Kairos à votre application d’authentification",
        "secret_label": "Si vous ne pouvez pas le scanner, saisissez cette clé dans l’application :",
        "first_code_label": "Code affiché par l’application",
        "enrol_confirm": "Activer la connexion en deux étapes",
        "enrol_wrong": "Ce code est incorrect. Vérifiez l’heure de votre téléphone, puis saisissez le code "
        "affiché maintenant.",
        "already_enrolled": "La connexion en deux étapes est déjà configurée pour ce compte.",
        "enrolled_title": "La connexion en deux étapes est activée",
        "recovery_help": "Conservez ces codes de secours en lieu sûr. Si vous perdez votre téléphone, saisissez "
        "l’un d’eux à la place d’un code de l’application. Chacun ne sert qu’une fois. Ils ne sont affichés "
        "qu’une seule fois.",
        "recovery_codes": "Codes de secours",
        "continue": "Continuer",
        "passkey_heading": "Clé d’accès",
        "passkey_sign_in": "Se connecter avec une clé d’accès",
        "passkey_sign_in_help": "Sans mot de passe : votre appareil vous demande votre empreinte, votre visage ou "
        "votre code PIN.",
        "passkey_sign_in_failed": "Cette clé d’accès ne vous a pas connecté. Réessayez, ou utilisez votre mot de "
        "passe.",
    },
}

for _language, _texts in PAGE_MESSAGES.items():  # registration, verification, password reset
    MESSAGES[_language].update(_texts)
for _language, _texts in FEDERATION_MESSAGES.items():  # organisations' identity providers
    MESSAGES[_language].update(_texts)
for _language, _texts in CONSENT_MESSAGES.items():  # third-party applications' consent page
    MESSAGES[_language].update(_texts)

# Pages that run identity's own script (the passkey buttons of the sign-in and second-step pages): the same
# policy, plus scripts and requests to identity itself.
SCRIPTED_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SCRIPTED_TEMPLATES = frozenset({"sign_in.html", "code.html"})

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


def duration(request: Request, seconds: int) -> str:
    """A wait, in words: seconds under two minutes, whole minutes (rounded up) beyond."""
    messages = MESSAGES[language(request)]
    if seconds < 120:
        return messages["second"] if seconds == 1 else messages["seconds"].format(n=seconds)
    return messages["minutes"].format(n=-(-seconds // 60))


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = language(request)
    html = _environment.get_template(template).render(lang=lang, t=MESSAGES[lang], **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": SCRIPTED_PAGE_POLICY if template in SCRIPTED_TEMPLATES else PAGE_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            **(headers or {}),
        },
    )
