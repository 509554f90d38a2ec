import "i18next";

import type { AccountDictionary } from "./account.en";
import type { AdminDictionary } from "./admin.en";
import type { Dictionary } from "./en";
import type { PracticeDictionary } from "./practice.en";

declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: {
      translation: Dictionary;
      account: AccountDictionary;
      admin: AdminDictionary;
      practice: PracticeDictionary;
    };
  }
}
