import type { i18n } from "i18next";
import type { UserManager } from "oidc-client-ts";
import { useMemo, type ReactNode } from "react";
import { I18nextProvider } from "react-i18next";

import { ApiContext, createApi } from "../api/client";
import { AuthProvider, useAuth } from "../features/auth/AuthProvider";

function ApiProvider({ children }: { children: ReactNode }) {
  const { accessToken } = useAuth();
  const api = useMemo(() => createApi({ baseUrl: window.location.origin, accessToken }), [accessToken]);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function Providers({ i18n, manager, children }: { i18n: i18n; manager: UserManager; children: ReactNode }) {
  return (
    <I18nextProvider i18n={i18n}>
      <AuthProvider manager={manager}>
        <ApiProvider>{children}</ApiProvider>
      </AuthProvider>
    </I18nextProvider>
  );
}
