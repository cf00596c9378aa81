/**
 * The panel's views. The progress bar, the replica grid, the failure groups and the timeline take a
 * `BatchGroup` and callbacks and nothing of the panel or the shell: notebook outputs reuse them.
 */
export { BatchProgressBar } from './progress';
export type { BatchProgressBarProps } from './progress';
export { ReplicaGrid, rowKey } from './grid';
export type { ReplicaGridProps } from './grid';
export { FailureGroups } from './failures';
export type { FailureGroupsProps } from './failures';
export { ReplicaTimeline } from './timeline';
export type { ReplicaTimelineProps } from './timeline';
export * from './labels';
export { BatchPicture } from './picture';
export type { BatchPictureOptions } from './picture';
