"""Texts of the consent page for third-party applications, per language, and the scopes they ask for in plain
words (``describe_scope``). The page texts join ``kairos.identity.pages.MESSAGES``."""

from __future__ import annotations

from kairos.identity.domain.client_grants import Access, ScopeKind, ScopeMeaning

CONSENT_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "consent_title": "Allow {client} to use your Kairos account?",
        "consent_intro": "{client} is not part of Kairos. If you allow it, it will be able to:",
        "consent_signed_in_as": "You are signed in as {name}.",
        "consent_later": "You can take this permission back at any time in your account's settings.",
        "consent_allow": "Allow",
        "consent_deny": "Deny",
        "consent_expired": "This request has expired or was already answered. Go back to the application and "
        "start again.",
    },
    "fr": {
        "consent_title": "Autoriser {client} à utiliser votre compte Kairos ?",
        "consent_intro": "{client} ne fait pas partie de Kairos. Si vous l’autorisez, cette application pourra :",
        "consent_signed_in_as": "Vous êtes connecté en tant que {name}.",
        "consent_later": "Vous pouvez retirer cette autorisation à tout moment dans les paramètres de votre compte.",
        "consent_allow": "Autoriser",
        "consent_deny": "Refuser",
        "consent_expired": "Cette demande a expiré ou a déjà reçu une réponse. Revenez à l’application et recommencez.",
    },
}

_STANDARD: dict[str, dict[ScopeKind, str]] = {
    "en": {
        ScopeKind.OPENID: "Know who you are on Kairos",
        ScopeKind.PROFILE: "See your name, language and time zone",
        ScopeKind.EMAIL: "See your e-mail address",
        ScopeKind.OFFLINE_ACCESS: "Keep this access while you are not using it",
    },
    "fr": {
        ScopeKind.OPENID: "Savoir qui vous êtes sur Kairos",
        ScopeKind.PROFILE: "Voir votre nom, votre langue et votre fuseau horaire",
        ScopeKind.EMAIL: "Voir votre adresse e-mail",
        ScopeKind.OFFLINE_ACCESS: "Garder cet accès lorsque vous ne l’utilisez pas",
    },
}

# FHIR resource types, as a person calls them.
_RESOURCES: dict[str, dict[str, str]] = {
    "en": {
        "Appointment": "appointments",
        "AppointmentResponse": "answers to appointment requests",
        "Schedule": "schedules",
        "Slot": "free times",
        "Patient": "patient details",
        "Practitioner": "professionals' details",
        "*": "data",
    },
    "fr": {
        "Appointment": "rendez-vous",
        "AppointmentResponse": "réponses aux demandes de rendez-vous",
        "Schedule": "agendas",
        "Slot": "créneaux libres",
        "Patient": "données de patient",
        "Practitioner": "fiches des professionnels",
        "*": "données",
    },
}

_ACCESS: dict[str, dict[Access, str]] = {
    "en": {
        Access.READ: "Read {what}",
        Access.WRITE: "Create and change {what}",
        Access.READ_WRITE: "Read, create and change {what}",
    },
    "fr": {
        Access.READ: "Lire {what}",
        Access.WRITE: "Créer et modifier {what}",
        Access.READ_WRITE: "Lire, créer et modifier {what}",
    },
}

# Whose data: the person's own (``patient/``), or whatever their account may see (``user/``).
_CONTEXT: dict[str, dict[tuple[str, bool], str]] = {
    "en": {
        ("patient", False): "your {noun}",
        ("patient", True): "all your data",
        ("user", False): "the {noun} your account can see",
        ("user", True): "all the data your account can see",
    },
    "fr": {
        ("patient", False): "vos {noun}",
        ("patient", True): "toutes vos données",
        ("user", False): "les {noun} accessibles à votre compte",
        ("user", True): "toutes les données accessibles à votre compte",
    },
}

_OTHER = {"en": "Use the permission “{scope}”", "fr": "Utiliser l’autorisation « {scope} »"}


def describe_scope(meaning: ScopeMeaning, language: str) -> str:
    """One line of the consent page: what the scope lets the application do, in ``language``."""
    if meaning.context is not None and meaning.resource_type is not None and meaning.access is not None:  # SMART
        every = meaning.resource_type == "*"
        noun = _RESOURCES[language].get(meaning.resource_type, meaning.resource_type)
        what = _CONTEXT[language][(meaning.context, every)].format(noun=noun)
        return _ACCESS[language][meaning.access].format(what=what)
    standard = _STANDARD[language].get(meaning.kind)
    return standard if standard is not None else _OTHER[language].format(scope=meaning.scope)
