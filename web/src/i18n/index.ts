import i18next, { type i18n } from "i18next";
import { initReactI18next } from "react-i18next";

import { accountEn } from "./account.en";
import { accountFr } from "./account.fr";
import { adminEn } from "./admin.en";
import { adminFr } from "./admin.fr";
import { en } from "./en";
import { fr } from "./fr";
import { practiceEn } from "./practice.en";
import { practiceFr } from "./practice.fr";

export const LANGUAGES = { en: "English", fr: "Français" } as const;
export type Language = keyof typeof LANGUAGES;

const STORAGE_KEY = "kairos.language";

function isLanguage(value: string | null | undefined): value is Language {
  return value != null && Object.hasOwn(LANGUAGES, value);
}

/** The language chosen before, else the first of the browser's languages we have, else English. */
export function preferredLanguage(stored: string | null, browser: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of browser) {
    const primary = tag.toLowerCase().split("-")[0];
    if (isLanguage(primary)) return primary;
  }
  return "en";
}

export async function createI18n(language: Language): Promise<i18n> {
  const instance = i18next.createInstance();
  await instance.use(initReactI18next).init({
    resources: {
      en: { translation: en, account: accountEn, admin: adminEn, practice: practiceEn }, // a namespace per area
      fr: { translation: fr, account: accountFr, admin: adminFr, practice: practiceFr },
    },
    lng: language,
    fallbackLng: "en",
    interpolation: { escapeValue: false }, // React escapes
  });
  return instance;
}

/** i18n for the browser: remembers the user's choice and keeps <html lang> in step (screen readers use it). */
export async function createBrowserI18n(): Promise<i18n> {
  const instance = await createI18n(preferredLanguage(localStorage.getItem(STORAGE_KEY), navigator.languages));
  const apply = (language: string) => {
    document.documentElement.lang = language;
    localStorage.setItem(STORAGE_KEY, language);
  };
  apply(instance.language);
  instance.on("languageChanged", apply);
  return instance;
}
