import { MemoryStorage } from "../lib/storage/memory.ts";
import { storageConformance } from "./storage_conformance.ts";

// Each MemoryStorage keeps its own data: two names are apart, and nothing survives a close.
storageConformance("MemoryStorage", {
  create: () => new MemoryStorage({ name: "conformance" }),
  open: (name) => new MemoryStorage({ name }),
  persistent: false,
});
