// zod/mini keeps each bundle small (about 25 KB against 450 KB for the classic API). Import it as
// `import * as z from "../shared/zod"`: a namespace re-export stays tree-shakable, `export { z }` would not.
import { config } from "zod/mini";
import { en } from "zod/locales";

config(en());

export * from "zod/mini";
