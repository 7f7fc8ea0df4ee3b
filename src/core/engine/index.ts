export { selectJobs, isNNWeight } from './select';
export { compressJob, jobKey, configLabel, skippedResult, type Job } from './job';
export { runPlan, type RunOptions } from './run';
export { consumerAxes, weightAxes } from './axes';
