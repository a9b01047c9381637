// Ambient types of the Vite build: CSS and asset imports.
/// <reference types="vite/client" />
