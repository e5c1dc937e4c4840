export { simDevicesFrom } from './campus.ts';
export { peopleAt, type SimDevice, sampleDevice, unitHash } from './model.ts';
export { type MqttSim, startMqttSimulator } from './mqtt.ts';
