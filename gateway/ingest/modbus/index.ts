/**
 * Modbus TCP/RTU polling (issue 4): register maps and device profiles, block planning, decoding, the
 * poller that feeds the pipeline, and the commissioning probe (cli.ts, `campus-twin modbus probe`).
 */
export { ModbusBus } from './bus.ts';
export { decodeRegister, interpretations } from './decode.ts';
export type { ModbusHealth } from './health.ts';
export { planBlocks } from './plan.ts';
export { type ModbusDeviceReport, ModbusPoller } from './poller.ts';
export { parseReference, parseRegisterMap, type RegisterMap, type RegisterSpec } from './registers.ts';
export { builtinProfiles, type ModbusDeviceSettings, modbusDeviceSchema } from './settings.ts';
