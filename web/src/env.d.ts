/// <reference types="vite/client" />

// The build-time settings the app reads (Vite exposes only VITE_* variables to it).
interface ImportMetaEnv {
  /** Another OAuth client than `kairos-web` (see README.md). */
  readonly VITE_KAIROS_CLIENT_ID?: string;
}
