// Types for what Vite gives the playground's modules: import.meta.glob, `?raw` imports, import.meta.env.
/// <reference types="vite/client" />
