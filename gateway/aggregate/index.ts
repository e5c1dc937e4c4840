export {
  aggregateItemId,
  closeWatermark,
  lateCorrection,
  type OpenWindow,
  type WindowConfig,
  WindowSet,
  windowStartOf,
} from './windows.ts';
