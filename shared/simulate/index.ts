export {
  type AdminSim,
  type AdminSimOptions,
  adminEventsBetween,
  startAdminSimulator,
} from './admin.ts';
export { simDevicesFrom } from './campus.ts';
export { DEFAULT_COHORT, type LmsCohort, type LmsSim, startLmsSimulator, statementsBetween } from './lms.ts';
export {
  type ModbusSim,
  type ModbusSimFaults,
  type SimModbusDevice,
  simModbusDevicesFrom,
  startModbusSimulator,
} from './modbus.ts';
export { peopleAt, type SimDevice, sampleDevice, unitHash } from './model.ts';
export { type MqttSim, startMqttSimulator } from './mqtt.ts';
