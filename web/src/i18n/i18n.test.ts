import { formatDateTime, regionalLocale } from "./format";
import { en } from "./en";
import { fr } from "./fr";
import { preferredLanguage } from "./index";

function keys(dictionary: object, prefix = ""): string[] {
  return Object.entries(dictionary).flatMap(([key, value]) =>
    typeof value === "object" ? keys(value as object, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

test("French has every English text, and only those", () => {
  expect(keys(fr).sort()).toEqual(keys(en).sort());
});

test("the language is the user's choice, else the browser's first that we have, else English", () => {
  expect(preferredLanguage("fr", ["en-GB"])).toBe("fr");
  expect(preferredLanguage(null, ["de-CH", "fr-CA", "en"])).toBe("fr");
  expect(preferredLanguage("xx", ["de"])).toBe("en");
});

test("dates follow the browser's region of the chosen language, in the given zone", () => {
  expect(regionalLocale("en", ["en-GB", "fr-FR"])).toBe("en-GB");
  expect(regionalLocale("fr", ["en-GB"])).toBe("fr");
  const paris = formatDateTime("2026-12-01T08:00:00Z", "en-GB", "Europe/Paris");
  expect(paris).toMatch(/^Tuesday,? 1 December 2026 at 09:00$/);
  const montreal = formatDateTime("2026-12-01T08:00:00Z", "fr", "America/Montreal");
  expect(montreal).toMatch(/^mardi 1 décembre 2026 à 03:00$/);
});
