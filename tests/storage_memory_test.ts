import { MemoryStorage } from "../lib/storage/memory.ts";
import { storageConformance } from "./storage_conformance.ts";

storageConformance("MemoryStorage", { create: () => new MemoryStorage({ name: "conformance" }) });
