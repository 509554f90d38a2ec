"""Texts of the pages of signing in through an organisation's identity provider, and of passkeys (joined into
``pages.MESSAGES``)."""

from __future__ import annotations

FEDERATION_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "federation_or": "Or",
        "federation_sign_in_with": "Sign in with {provider}",
        "federation_discover_label": "Work e-mail address",
        "federation_discover": "Continue with your organisation's sign-in",
        "federation_no_provider": "Your organisation has no sign-in of its own for this address. "
        "Sign in with your password instead.",
        "federation_failed": "Signing in through your organisation did not work. Try again, or sign in with your "
        "password.",
        "federation_unreachable": "Your organisation's sign-in service did not answer. Try again later, or sign in "
        "with your password.",
        "federation_no_account": "There is no Kairos account for you yet, and your organisation does not create them "
        "on first sign-in. Ask your organisation's administrator.",
        "federation_address_taken": "A Kairos account already uses your e-mail address. Sign in with its password, "
        "then sign in through your organisation to link the two.",
        "federation_disabled": "This account is disabled.",
        "federation_link_title": "Link your Kairos account",
        "federation_link_help": "You already have a Kairos account with the address {email}. Type its password to "
        "link it to your organisation's sign-in. Next time, your organisation's sign-in is enough.",
        "federation_link": "Link and sign in",
        "federation_link_expired": "This link request has expired. Sign in through your organisation again.",
        "use_passkey": "Use a passkey instead",
        "passkey_failed": "That passkey was not accepted. Try again, or type a code.",
    },
    "fr": {
        "federation_or": "Ou",
        "federation_sign_in_with": "Se connecter avec {provider}",
        "federation_discover_label": "Adresse e-mail professionnelle",
        "federation_discover": "Continuer avec la connexion de votre organisation",
        "federation_no_provider": "Votre organisation n’a pas de connexion propre pour cette adresse. "
        "Connectez-vous plutôt avec votre mot de passe.",
        "federation_failed": "La connexion par votre organisation n’a pas abouti. Réessayez, ou connectez-vous avec "
        "votre mot de passe.",
        "federation_unreachable": "Le service de connexion de votre organisation n’a pas répondu. Réessayez plus "
        "tard, ou connectez-vous avec votre mot de passe.",
        "federation_no_account": "Vous n’avez pas encore de compte Kairos, et votre organisation n’en crée pas à la "
        "première connexion. Adressez-vous à l’administrateur de votre organisation.",
        "federation_address_taken": "Un compte Kairos utilise déjà votre adresse e-mail. Connectez-vous avec son mot "
        "de passe, puis connectez-vous par votre organisation pour relier les deux.",
        "federation_disabled": "Ce compte est désactivé.",
        "federation_link_title": "Relier votre compte Kairos",
        "federation_link_help": "Vous avez déjà un compte Kairos avec l’adresse {email}. Saisissez son mot de passe "
        "pour le relier à la connexion de votre organisation. La prochaine fois, celle-ci suffira.",
        "federation_link": "Relier et se connecter",
        "federation_link_expired": "Cette demande a expiré. Connectez-vous de nouveau par votre organisation.",
        "use_passkey": "Utiliser plutôt une clé d’accès",
        "passkey_failed": "Cette clé d’accès n’a pas été acceptée. Réessayez, ou saisissez un code.",
    },
}
