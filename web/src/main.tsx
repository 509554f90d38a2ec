import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";

import { App } from "./app/App";
import { Providers } from "./app/Providers";
import "./app/styles.css";
import { createUserManager } from "./features/auth/session";
import { createBrowserI18n } from "./i18n";

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");

void createBrowserI18n().then((i18n) =>
  createRoot(root).render(
    <StrictMode>
      <Providers i18n={i18n} manager={createUserManager()}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </Providers>
    </StrictMode>,
  ),
);
