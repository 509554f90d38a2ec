"""Texts of the registration, verification and password-reset pages, and of identity's mails, per language.

The page texts join ``kairos.identity.pages.MESSAGES``; the mails are plain text, formatted with the
person's name and the links.
"""

from __future__ import annotations

PAGE_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "register_link": "Create an account",
        "forgot_link": "Forgot your password?",
        "register_title": "Create your Kairos account",
        "name": "Your name",
        "new_password": "Password",
        "password_help": "At least 15 characters. A few words that do not belong together make a good one.",
        "register": "Create my account",
        "have_account": "Already have an account? Sign in",
        "email_invalid": "Enter an e-mail address like name@example.org.",
        "name_missing": "Enter your name.",
        "registered_title": "Check your e-mail",
        "registered": "We have sent a message to {email}. Open the link in it to confirm your address and "
        "finish creating your account. The link works for 48 hours.",
        "problem_too_short": "The password is too short: use at least {minimum} characters.",
        "problem_too_long": "The password is too long: use at most {maximum} characters.",
        "problem_unsupported_character": "The password contains a character that cannot be typed reliably.",
        "problem_commonly_used": "This password is too common: attackers try it first. Choose another.",
        "problem_context_specific": "The password leans on your e-mail address or the name of this service. "
        "Choose words that have nothing to do with them.",
        "problem_repetitive": "The password repeats itself too much (like “aaaa” or “abcabc”).",
        "problem_sequential": "The password is too much of a sequence (like “abcd” or “4321”).",
        "verify_title": "Confirm your e-mail address",
        "verify_help": "Confirm your address to finish creating your account.",
        "verify_button": "Confirm my address",
        "verified_title": "Your e-mail address is confirmed",
        "verified": "Thank you. You can sign in now.",
        "continue_to_sign_in": "Continue to sign in",
        "link_invalid_title": "This link cannot be used",
        "link_invalid": "The link has expired or has been used already. Ask for a new one.",
        "unverified": "Confirm your e-mail address before you sign in: open the link in the message we sent you.",
        "resend": "Send the link again",
        "resent": "If this address still needs confirming, we have sent a new link to it. Check your e-mail.",
        "forgot_title": "Reset your password",
        "forgot_help": "Enter the e-mail address of your account. We will send you a link to choose a new password.",
        "send_link": "Send me the link",
        "reset_sent_title": "Check your e-mail",
        "reset_sent": "If an account uses {email}, we have sent it a link to choose a new password. "
        "The link works for 30 minutes.",
        "reset_title": "Choose a new password",
        "reset_button": "Save my new password",
        "password_changed_title": "Your password is changed",
        "password_changed": "You are signed out everywhere. Sign in with your new password.",
        "too_many_requests": "Too many requests for this address. Wait {wait}, then try again.",
        "back_to_sign_in": "Back to sign in",
    },
    "fr": {
        "register_link": "Créer un compte",
        "forgot_link": "Mot de passe oublié ?",
        "register_title": "Créer votre compte Kairos",
        "name": "Votre nom",
        "new_password": "Mot de passe",
        "password_help": "Au moins 15 caractères. Quelques mots sans rapport entre eux font un bon mot de passe.",
        "register": "Créer mon compte",
        "have_account": "Vous avez déjà un compte ? Connectez-vous",
        "email_invalid": "Saisissez une adresse e-mail comme nom@exemple.fr.",
        "name_missing": "Saisissez votre nom.",
        "registered_title": "Consultez vos e-mails",
        "registered": "Nous avons envoyé un message à {email}. Ouvrez le lien qu’il contient pour confirmer votre "
        "adresse et terminer la création de votre compte. Le lien est valable 48 heures.",
        "problem_too_short": "Le mot de passe est trop court : utilisez au moins {minimum} caractères.",
        "problem_too_long": "Le mot de passe est trop long : utilisez au plus {maximum} caractères.",
        "problem_unsupported_character": "Le mot de passe contient un caractère qui ne peut pas être saisi de "
        "façon fiable.",
        "problem_commonly_used": "Ce mot de passe est trop courant : les attaquants l’essaient en premier. "
        "Choisissez-en un autre.",
        "problem_context_specific": "Le mot de passe s’appuie sur votre adresse e-mail ou sur le nom de ce "
        "service. Choisissez des mots qui n’ont rien à voir avec eux.",
        "problem_repetitive": "Le mot de passe se répète trop (comme « aaaa » ou « abcabc »).",
        "problem_sequential": "Le mot de passe est trop proche d’une suite (comme « abcd » ou « 4321 »).",
        "verify_title": "Confirmer votre adresse e-mail",
        "verify_help": "Confirmez votre adresse pour terminer la création de votre compte.",
        "verify_button": "Confirmer mon adresse",
        "verified_title": "Votre adresse e-mail est confirmée",
        "verified": "Merci. Vous pouvez maintenant vous connecter.",
        "continue_to_sign_in": "Continuer vers la connexion",
        "link_invalid_title": "Ce lien ne peut pas être utilisé",
        "link_invalid": "Le lien a expiré ou a déjà été utilisé. Demandez-en un nouveau.",
        "unverified": "Confirmez votre adresse e-mail avant de vous connecter : ouvrez le lien du message que nous "
        "vous avons envoyé.",
        "resend": "Renvoyer le lien",
        "resent": "Si cette adresse doit encore être confirmée, nous y avons envoyé un nouveau lien. Consultez vos "
        "e-mails.",
        "forgot_title": "Réinitialiser votre mot de passe",
        "forgot_help": "Saisissez l’adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un "
        "nouveau mot de passe.",
        "send_link": "M’envoyer le lien",
        "reset_sent_title": "Consultez vos e-mails",
        "reset_sent": "Si un compte utilise {email}, nous lui avons envoyé un lien pour choisir un nouveau mot de "
        "passe. Le lien est valable 30 minutes.",
        "reset_title": "Choisir un nouveau mot de passe",
        "reset_button": "Enregistrer mon nouveau mot de passe",
        "password_changed_title": "Votre mot de passe est modifié",
        "password_changed": "Vous êtes déconnecté partout. Connectez-vous avec votre nouveau mot de passe.",
        "too_many_requests": "Trop de demandes pour cette adresse. Attendez {wait}, puis réessayez.",
        "back_to_sign_in": "Retour à la connexion",
    },
}

# Each mail: (subject, body); the body is formatted with ``name`` and the links the mail needs.
MAILS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "verify_email": (
            "Confirm your e-mail address for Kairos",
            "Hello {name},\n\n"
            "To finish creating your Kairos account, confirm your e-mail address by opening this link:\n\n"
            "{link}\n\n"
            "The link works for 48 hours. If you did not create an account, ignore this message.\n",
        ),
        "already_registered": (
            "You already have a Kairos account",
            "Hello {name},\n\n"
            "Someone, probably you, tried to create a Kairos account with this e-mail address. "
            "You already have one.\n\n"
            "Sign in: {sign_in}\n"
            "Forgot your password? Choose a new one: {forgot}\n\n"
            "If it was not you, ignore this message: nothing has changed.\n",
        ),
        "reset_password": (
            "Reset your Kairos password",
            "Hello {name},\n\n"
            "To choose a new password for your Kairos account, open this link:\n\n"
            "{link}\n\n"
            "The link works once, for 30 minutes. If you did not ask for it, ignore this message: "
            "your password stays as it is.\n",
        ),
        "password_changed": (
            "Your Kairos password was changed",
            "Hello {name},\n\n"
            "The password of your Kairos account was changed, and every session was signed out.\n\n"
            "If you did not do this, choose a new password now: {forgot}\n",
        ),
    },
    "fr": {
        "verify_email": (
            "Confirmez votre adresse e-mail pour Kairos",
            "Bonjour {name},\n\n"
            "Pour terminer la création de votre compte Kairos, confirmez votre adresse e-mail en ouvrant ce "
            "lien :\n\n"
            "{link}\n\n"
            "Le lien est valable 48 heures. Si vous n’avez pas créé de compte, ignorez ce message.\n",
        ),
        "already_registered": (
            "Vous avez déjà un compte Kairos",
            "Bonjour {name},\n\n"
            "Quelqu’un, sans doute vous, a essayé de créer un compte Kairos avec cette adresse e-mail. "
            "Vous en avez déjà un.\n\n"
            "Se connecter : {sign_in}\n"
            "Mot de passe oublié ? Choisissez-en un nouveau : {forgot}\n\n"
            "Si ce n’était pas vous, ignorez ce message : rien n’a changé.\n",
        ),
        "reset_password": (
            "Réinitialisez votre mot de passe Kairos",
            "Bonjour {name},\n\n"
            "Pour choisir un nouveau mot de passe pour votre compte Kairos, ouvrez ce lien :\n\n"
            "{link}\n\n"
            "Le lien fonctionne une fois, pendant 30 minutes. Si vous ne l’avez pas demandé, ignorez ce "
            "message : votre mot de passe reste inchangé.\n",
        ),
        "password_changed": (
            "Votre mot de passe Kairos a été modifié",
            "Bonjour {name},\n\n"
            "Le mot de passe de votre compte Kairos a été modifié, et toutes les sessions ont été fermées.\n\n"
            "Si ce n’était pas vous, choisissez un nouveau mot de passe maintenant : {forgot}\n",
        ),
    },
}
