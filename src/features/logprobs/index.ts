export { tokenLogprob, type DescribeToken } from "./tokenLogprob.ts";
