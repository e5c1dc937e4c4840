/**
 * `campus-twin simulate`: simulated MQTT sensors for the rooms of a campus registry, its Modbus TCP devices
 * served from their register profiles, and an LMS cohort, until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { untilSignal } from '../cli/signals.ts';
import {
  type AdminSim,
  DEFAULT_COHORT,
  type LmsSim,
  type ModbusSim,
  simDevicesFrom,
  simModbusDevicesFrom,
  startAdminSimulator,
  startLmsSimulator,
  startModbusSimulator,
  startMqttSimulator,
} from './index.ts';

const HELP = `Usage: campus-twin simulate [options]

Publishes simulated telemetry (lecture-hour occupancy driving CO2, temperature, light and power) from the
MQTT devices of a campus registry, each over its own connection with its own credentials; with --modbus,
also serves the registry's Modbus TCP devices (meters, room sensors) at their host:port from their register
maps, for the gateway to poll.

Options:
      --mqtt URL            broker (default mqtt://localhost:1883)
      --campus FILE         campus registry (default samples/campus.yaml)
      --rooms N             simulate the first N rooms (default: all)
      --interval-ms N       each device publishes every N ms (default 10000)
      --seed S              another timetable and noise draw (default: the built-in one); runs with the
                            same seed send the same readings at the same times
      --password-template T device password, {id} replaced by the device id (default "sample-{id}",
                            the sample campus's); "" connects without credentials (dev mode gateways)
Modbus TCP devices:
      --modbus              serve the campus's Modbus TCP devices (default: off)
      --meter-failing IDS   these Modbus devices answer every read with exception 04 (device failure)
      --meter-busy-every N  every Nth read of each Modbus device is refused with exception 06 (busy)
LMS activity (xAPI statements for a cohort, a share of which disengages; signed, to the gateway's webhook):
      --lms-webhook URL     e.g. http://localhost:8080/webhooks/lms/xapi (default: no LMS activity)
      --lms-secret-env NAME the webhook's HMAC secret, from this environment variable
      --students N          cohort size (default 60); --disengage-share F (default 0.2)
Admin systems (enrolments and withdrawals of the cohort, the simulated rooms' bookings, work orders):
      --admin-webhook URL   e.g. http://localhost:8080/webhooks/admin (default: no admin events)
      --admin-secret-env NAME  its HMAC secret from this variable (or --admin-bearer-env NAME: a token)
Faults on demand (for drills: the status page should show each):
      --quiet IDS           these devices (comma-separated) connect but never publish: stale, then offline
      --bad-payload-every N every Nth publish of each device is truncated JSON (CT_ERR_NOT_JSON)
      --out-of-range-every N every Nth publish carries an impossible CO2 (refused as out of range)
  -h, --help                show this help
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mqtt: { type: 'string', default: 'mqtt://localhost:1883' },
      campus: { type: 'string', default: 'samples/campus.yaml' },
      rooms: { type: 'string' },
      'interval-ms': { type: 'string', default: '10000' },
      'password-template': { type: 'string', default: 'sample-{id}' },
      seed: { type: 'string' },
      'lms-webhook': { type: 'string' },
      'lms-secret-env': { type: 'string' },
      'admin-webhook': { type: 'string' },
      'admin-secret-env': { type: 'string' },
      'admin-bearer-env': { type: 'string' },
      students: { type: 'string' },
      'disengage-share': { type: 'string' },
      quiet: { type: 'string' },
      'bad-payload-every': { type: 'string' },
      'out-of-range-every': { type: 'string' },
      modbus: { type: 'boolean' },
      'meter-failing': { type: 'string' },
      'meter-busy-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const intervalMs = Number(values['interval-ms']);
  const rooms = values.rooms === undefined ? undefined : Number(values.rooms);
  if (
    !Number.isInteger(intervalMs) ||
    intervalMs < 100 ||
    (rooms !== undefined && !Number.isInteger(rooms))
  ) {
    process.stderr.write(
      `campus-twin simulate: --interval-ms must be an integer ≥ 100 and --rooms an integer\n`,
    );
    return 2;
  }
  const { loadCampus } = await import('../../gateway/registry/index.ts');
  const campus = loadCampus(values.campus);
  const devices = simDevicesFrom(campus, {
    ...(rooms === undefined ? {} : { rooms }),
    ...(values.seed ? { seed: values.seed } : {}),
  });
  const template = values['password-template'];
  const busyEvery = values['meter-busy-every'] === undefined ? 0 : Number(values['meter-busy-every']);
  if (!Number.isInteger(busyEvery) || busyEvery < 0) {
    process.stderr.write('campus-twin simulate: --meter-busy-every must be an integer ≥ 0\n');
    return 2;
  }
  // Webhook credentials, from the environment, checked before anything starts.
  const fromEnv = (name: string | undefined) => (name ? process.env[name] : undefined);
  const lmsSecret = fromEnv(values['lms-secret-env']);
  const adminAuth = {
    secret: fromEnv(values['admin-secret-env']),
    bearer: fromEnv(values['admin-bearer-env']),
  };
  if (values['lms-webhook'] && !lmsSecret) {
    process.stderr.write(
      'campus-twin simulate: --lms-webhook needs --lms-secret-env naming a set variable\n',
    );
    return 2;
  }
  if (values['admin-webhook'] && !adminAuth.secret && !adminAuth.bearer) {
    process.stderr.write(
      'campus-twin simulate: --admin-webhook needs --admin-secret-env or --admin-bearer-env naming a set variable\n',
    );
    return 2;
  }
  // One cohort for the LMS and the student records: the records withdraw exactly the LMS's dropouts.
  const cohort = {
    ...DEFAULT_COHORT,
    termStart: Date.now(),
    ...(values.seed ? { seed: values.seed } : {}),
    ...(values.students ? { students: Number(values.students) } : {}),
    ...(values['disengage-share'] ? { disengageShare: Number(values['disengage-share']) } : {}),
  };
  let modbus: ModbusSim | undefined;
  if (values.modbus) {
    const served = simModbusDevicesFrom(campus, values.seed ? { seed: values.seed } : {});
    try {
      modbus = await startModbusSimulator({
        devices: served,
        faults: {
          ...(values['meter-failing']
            ? { failing: values['meter-failing'].split(',').map((d) => d.trim()) }
            : {}),
          busyEvery,
        },
      });
    } catch (err) {
      process.stderr.write(`campus-twin simulate: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(
      `campus-twin simulate: ${served.length} Modbus devices served on ${modbus.endpoints.join(', ') || 'no endpoint'}\n`,
    );
  }
  const errors = new Map<string, string>();
  const sim = startMqttSimulator({
    url: values.mqtt,
    devices,
    intervalMs,
    ...(template ? { password: (id: string) => template.replaceAll('{id}', id) } : {}),
    faults: {
      ...(values.quiet ? { quiet: values.quiet.split(',').map((d) => d.trim()) } : {}),
      ...(values['bad-payload-every'] ? { badPayloadEvery: Number(values['bad-payload-every']) } : {}),
      ...(values['out-of-range-every'] ? { outOfRangeEvery: Number(values['out-of-range-every']) } : {}),
    },
    onError: (id, err) => {
      if (errors.get(id) !== err.message) process.stderr.write(`simulate: ${id}: ${err.message}\n`);
      errors.set(id, err.message);
    },
  });
  process.stderr.write(
    `campus-twin simulate: ${devices.length} devices → ${values.mqtt} every ${intervalMs} ms\n`,
  );
  let lms: LmsSim | undefined;
  if (values['lms-webhook'] && lmsSecret) {
    lms = startLmsSimulator({
      url: values['lms-webhook'],
      secret: lmsSecret,
      intervalMs,
      cohort,
      onError: (err) => process.stderr.write(`simulate: LMS: ${err.message}\n`),
    });
    process.stderr.write(`campus-twin simulate: LMS cohort → ${values['lms-webhook']}\n`);
  }
  let admin: AdminSim | undefined;
  if (values['admin-webhook']) {
    admin = startAdminSimulator({
      url: values['admin-webhook'],
      ...(adminAuth.secret ? { secret: adminAuth.secret } : { bearer: adminAuth.bearer! }),
      intervalMs,
      cohort,
      rooms: [...new Set(devices.map((d) => d.roomId))].map((roomId) => ({ roomId })),
      ...(values.seed ? { seed: values.seed } : {}),
      onError: (err) => process.stderr.write(`simulate: admin: ${err.message}\n`),
    });
    process.stderr.write(`campus-twin simulate: admin events → ${values['admin-webhook']}\n`);
  }
  const report = setInterval(
    () =>
      process.stderr.write(
        `simulate: ${sim.published} readings published${sim.faulty ? `, ${sim.faulty} faulty payloads` : ''}` +
          `${modbus ? `; Modbus ${modbus.reads} reads answered, ${modbus.exceptions} exceptions` : ''}\n`,
      ),
    30_000,
  );
  await untilSignal();
  clearInterval(report);
  await sim.stop();
  await lms?.stop();
  await admin?.stop();
  await modbus?.stop();
  return 0;
}
