import { describeLimitContract } from "../../../test/helpers/limitsContract.ts";
import { MemoryLimitCounters } from "./memory.ts";

describeLimitContract("MemoryLimitCounters", async (now) => new MemoryLimitCounters({ now }));
