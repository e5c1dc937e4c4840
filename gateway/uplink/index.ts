export { type Producer, Uplink, type UplinkOptions, type UplinkStatus } from './uplink.ts';
