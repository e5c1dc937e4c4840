/**
 * `campus-twin dev` (what `npm start` runs): the whole system in one process on embedded defaults — the
 * local Event Hubs hub, a gateway forwarding to it, the cloud consuming from it, and simulated MQTT
 * sensors for a few rooms of the sample campus — with data under ./data. Ctrl-C stops everything, in
 * the order that loses nothing (sensors, gateway, cloud, hub).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../net.ts';
import { untilSignal } from './signals.ts';

const HELP = `Usage: campus-twin dev [options]

Runs hub + gateway + cloud + a simulated campus in one process, on embedded defaults, until Ctrl-C.
The gateway is in dev mode (the status page says so) and closes 10 s windows so the cloud fills quickly.

Options:
      --data-dir DIR        where hub, gateway and cloud keep their data (default ./data)
      --campus FILE         campus registry (default samples/campus.yaml; device passwords "sample-<id>")
      --rooms N             simulate the sensors of the first N rooms (default 6)
      --interval-ms N       each simulated device publishes every N ms (default 5000)
      --random-ports        listen on free ports instead of 5672 / 1883 / 8080 / 8000 / 5020 (Modbus)
      --log-level L         fatal|error|warn|info|debug|trace|silent (default warn)
Drills (faults on demand; see also campus-twin simulate --help):
      --uplink-outage-every S  every S seconds, take the local Event Hubs hub down (an internet outage as
                               the gateway sees it): the status page shows the backlog grow, then drain
      --uplink-outage-for S    how long each outage lasts (default 30)
  -h, --help                show this help
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string', default: './data' },
      campus: { type: 'string', default: 'samples/campus.yaml' },
      rooms: { type: 'string', default: '6' },
      'interval-ms': { type: 'string', default: '5000' },
      'random-ports': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
      'uplink-outage-every': { type: 'string' },
      'uplink-outage-for': { type: 'string', default: '30' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const rooms = Number(values.rooms);
  const intervalMs = Number(values['interval-ms']);
  if (!Number.isInteger(rooms) || rooms < 0 || !Number.isInteger(intervalMs) || intervalMs < 100) {
    process.stderr.write(
      'campus-twin dev: --rooms must be an integer ≥ 0 and --interval-ms an integer ≥ 100\n',
    );
    return 2;
  }
  const outageEvery = values['uplink-outage-every'] === undefined ? 0 : Number(values['uplink-outage-every']);
  const outageFor = Number(values['uplink-outage-for']);
  if (!(outageEvery >= 0) || !(outageFor > 0) || (outageEvery > 0 && outageFor >= outageEvery)) {
    process.stderr.write(
      'campus-twin dev: --uplink-outage-every and --uplink-outage-for are seconds, the outage shorter than the period\n',
    );
    return 2;
  }
  const level = values['log-level'] as 'warn';
  const dataDir = values['data-dir'];
  const random = values['random-ports'];
  const [{ createHub, hubConfigFrom }, { createGateway }, { gatewayConfigFrom }, { campusFrom, loadCampus }] =
    await Promise.all([
      import('../../cloud/hub/index.ts'),
      import('../../gateway/app.ts'),
      import('../../gateway/config/index.ts'),
      import('../../gateway/registry/index.ts'),
    ]);
  const [
    { createCloud },
    { cloudConfigFrom },
    { createLogger },
    {
      DEFAULT_COHORT,
      simDevicesFrom,
      simModbusDevicesFrom,
      startAdminSimulator,
      startLmsSimulator,
      startModbusSimulator,
      startMqttSimulator,
    },
    { readYamlFile },
  ] = await Promise.all([
    import('../../cloud/app.ts'),
    import('../../cloud/config/index.ts'),
    import('../logger.ts'),
    import('../simulate/index.ts'),
    import('../config.ts'),
  ]);
  const logger = createLogger({ level });
  const hubName = 'campus-twin';

  const newHub = (port: number) =>
    createHub(hubConfigFrom({ host: '127.0.0.1', port, dataDir: join(dataDir, 'hub'), hubs: [hubName] }), {
      logger,
    });
  let hub = newHub(random ? 0 : 5672);
  await hub.start();
  const hubPort = hub.port;
  const connectionString = hub.connectionString();

  // The sample campus plus an SDM120 energy meter per simulated room, polled over Modbus TCP: the meters sit
  // behind one Modbus TCP gateway (one port, a unit id each), as on a real RS-485 bus, served by the
  // simulator from the meter's register profile.
  const modbusPort = random ? await freePort() : 5020;
  const campusRaw = readYamlFile(values.campus) as { devices?: unknown[] };
  const meterRooms = [...loadCampus(values.campus).rooms.keys()].slice(0, rooms);
  campusRaw.devices = [
    ...(campusRaw.devices ?? []),
    ...meterRooms.map((roomId, i) => ({
      id: `meter-mb-${roomId}`,
      roomId,
      kind: 'modbus-meter',
      modbus: {
        host: '127.0.0.1',
        port: modbusPort,
        unitId: i + 1,
        profile: 'sdm120',
        pollIntervalMs: Math.max(1_000, intervalMs),
      },
    })),
  ];
  const campus = campusFrom(campusRaw, values.campus);
  const modbus = await startModbusSimulator({ devices: simModbusDevicesFrom(campus) });
  const lmsSecret = randomBytes(24).toString('hex');
  const gateway = createGateway(
    gatewayConfigFrom({
      gatewayId: 'gw-dev',
      dev: true,
      dataDir: join(dataDir, 'gateway'),
      campusFile: values.campus,
      mqtt: { host: '127.0.0.1', port: random ? 0 : 1883, allowAnonymous: true },
      http: { host: '127.0.0.1', port: random ? 0 : 8080 },
      aggregate: { windowMs: 10_000, allowedLatenessMs: 5_000 },
      uplink: { connectionString, hubName, lingerMs: { twin: 1_000, event: 1_000, aggregate: 1_000 } },
      // The xAPI webhook for the simulated cohort, signed with a secret made for this run.
      // The admin webhook for the simulated records, timetabling and maintenance systems, with the same secret.
      webhooks: {
        sources: {
          xapi: { enabled: true, auth: 'hmac', secret: lmsSecret },
          admin: { enabled: true, auth: 'hmac', secret: lmsSecret },
        },
      },
      log: { level },
    }),
    { campus, logger },
  );
  await gateway.start();

  const cloud = createCloud(
    cloudConfigFrom({
      dev: true,
      campusFile: values.campus,
      eventHub: { connectionString, hubName },
      store: { file: join(dataDir, 'cloud', 'cloud.db') },
      api: { host: '127.0.0.1', port: random ? 0 : 8000 },
      loadBalancing: { strategy: 'greedy', updateIntervalInMs: 2_000 },
      log: { level },
    }),
    { logger },
  );
  await cloud.start();

  const mqttUrl = `mqtt://127.0.0.1:${gateway.ports.mqtt}`;
  const devices = simDevicesFrom(campus, { rooms });
  const sim = startMqttSimulator({
    url: mqttUrl,
    devices,
    intervalMs,
    password: (id) => `sample-${id}`,
    onError: (id, err) => logger.warn({ deviceId: id, err: err.message }, 'simulated device error'),
  });
  // A cohort in the LMS, a fifth of whom disengage: learning events for the cloud's analytics and risk.
  const cohort = { ...DEFAULT_COHORT, termStart: Date.now() };
  const lms = startLmsSimulator({
    url: `http://127.0.0.1:${gateway.ports.http}/webhooks/lms/xapi`,
    secret: lmsSecret,
    intervalMs,
    cohort,
    onError: (err) => logger.warn({ err: err.message }, 'simulated LMS error'),
  });

  // Enrolments of that cohort (and withdrawals of those who drop out), the simulated rooms' bookings (the
  // same timetable the sensors follow) and work orders.
  const admin = startAdminSimulator({
    url: `http://127.0.0.1:${gateway.ports.http}/webhooks/admin`,
    secret: lmsSecret,
    intervalMs,
    cohort,
    rooms: meterRooms.map((roomId) => ({ roomId })),
    onError: (err) => logger.warn({ err: err.message }, 'simulated admin error'),
  });

  // The outage drill: the hub goes down and comes back on the same port with its data (the gateway keeps
  // everything meanwhile and drains it after), on a timer.
  let drill: NodeJS.Timeout | undefined;
  let drilling: Promise<void> = Promise.resolve();
  let endOutage: (() => void) | undefined;
  if (outageEvery > 0) {
    drill = setInterval(() => {
      drilling = drilling.then(async () => {
        process.stderr.write(`campus-twin dev: uplink outage drill: hub down for ${outageFor} s\n`);
        await hub.stop();
        await new Promise<void>((resolve) => {
          endOutage = resolve;
          setTimeout(resolve, outageFor * 1000);
        });
        if (!drill) return; // stopping
        hub = newHub(hubPort);
        await hub.start();
        process.stderr.write('campus-twin dev: uplink outage drill: hub back\n');
      });
    }, outageEvery * 1000);
  }

  const ports = {
    amqp: hub.port,
    mqtt: gateway.ports.mqtt,
    gatewayHttp: gateway.ports.http,
    cloudHttp: cloud.port,
  };
  process.stdout.write(`${JSON.stringify({ event: 'dev:ready', ports, connectionString, hubName })}\n`);
  process.stderr.write(
    `campus-twin dev — everything on this machine, data under ${dataDir}\n` +
      `  gateway status page  http://localhost:${ports.gatewayHttp}/   (dev mode: open, anonymous devices allowed)\n` +
      `  gateway MQTT         ${mqttUrl}   (${devices.length} simulated devices in ${rooms} rooms, every ${intervalMs} ms)\n` +
      `  Modbus TCP meters    127.0.0.1:${modbusPort}   (${meterRooms.length} SDM120 meters, unit ids 1-${meterRooms.length}, polled by the gateway)\n` +
      `  gateway admin webhook http://localhost:${ports.gatewayHttp}/webhooks/admin   (enrolments, bookings, work orders)\n` +
      `  gateway xAPI webhook http://localhost:${ports.gatewayHttp}/webhooks/lms/xapi   (a simulated cohort of ${DEFAULT_COHORT.students} students)\n` +
      `  cloud API            http://localhost:${ports.cloudHttp}/api/gateways\n` +
      `  local Event Hubs     ${connectionString}  (hub "${hubName}")\n` +
      `Ctrl-C stops everything.\n`,
  );

  await untilSignal();
  process.stderr.write('campus-twin dev: stopping…\n');
  clearInterval(drill);
  drill = undefined;
  endOutage?.();
  await drilling;
  await sim.stop();
  await lms.stop();
  await admin.stop();
  await gateway.stop();
  await modbus.stop();
  await cloud.stop();
  await hub.stop();
  return 0;
}
