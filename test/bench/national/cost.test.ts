/**
 * The multiplying-out of bench:national: measured per-node unit costs × the model's counts give a
 * municipality's year, central shares add up to the operator's nodes, and the projection to more
 * authorities follows the measured federated sizes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type GatewayUnits,
  gatewayYearFor,
  kroner,
  perMunicipality,
  projectTo,
  type Units,
  YEAR_SECONDS,
  yearFor,
} from './cost.ts';
import {
  CLASSES,
  loadAssumptions,
  municipalities,
  nationalCounts,
  productionBlocksPerYear,
} from './model.ts';

const a = loadAssumptions();
const zero = { cpuSeconds: 0, diskBytes: 0, bytesSent: 0 };
const units = (authorities: number, blockCpu: number, backgroundCpu = 0): Units => ({
  topology: `federated-${authorities}`,
  authorities,
  block: { cpuSeconds: blockCpu, diskBytes: 1000, bytesSent: 100 * authorities },
  perClass: Object.fromEntries(
    CLASSES.map((k) => [k, k === 'create' ? { ...zero, cpuSeconds: 0.01 } : zero]),
  ) as Units['perClass'],
  background: { cpuSeconds: backgroundCpu, bytesSent: 0, rssMb: 100 },
  peakRssMb: 150,
  diskPerItem: 1000,
});

test('a year is blocks × per-block cost + counts × per-transaction cost + background × a year', () => {
  const counts = nationalCounts(a);
  const y = yearFor(a, units(4, 0.02, 0.001), counts, 0);
  const blocks = productionBlocksPerYear(a, 221_250);
  assert.equal(y.blocks, blocks);
  const cpu = blocks * 0.02 + counts.create * 0.01 + 0.001 * YEAR_SECONDS;
  assert.ok(Math.abs(y.cpuHours - cpu / 3600) < 1e-9);
  assert.ok(Math.abs(y.diskGb - ((221_250 + 270_000) * 1000) / 1e9) < 1e-12);
  assert.ok(Math.abs(y.egressGb - (blocks * 400) / 1e9) < 1e-12);
});

test('kroner: by use is the measured use; on a minimum host never less than the host for a year', () => {
  const y = { cpuHours: 10, peakRssMb: 100, diskGb: 1, egressGb: 2, blocks: 0 };
  const k = kroner(a, y);
  const p = a.prices;
  assert.ok(
    Math.abs(k.byUse - (10 * p.vcpuHourKroner + 12 * p.gbDiskMonthKroner + 2 * p.gbEgressKroner)) < 1e-9,
  );
  const host =
    a.minimumHost.vcpus * 8760 * p.vcpuHourKroner + a.minimumHost.diskGb * 12 * p.gbDiskMonthKroner;
  assert.ok(Math.abs(k.onMinimumHost - (host + 2 * p.gbEgressKroner)) < 1e-9);
});

test("central: the municipalities' shares add up to the operator's four nodes", () => {
  const u = units(4, 0.02, 0.001);
  const rows = perMunicipality(a, 'central', u, 4);
  const classes = municipalities(a);
  const summed = rows.reduce((s, r, i) => s + r.cpuHours * (classes[i]?.count ?? 0), 0);
  const node = yearFor(a, u, nationalCounts(a), nationalCounts(a).read / 4);
  assert.ok(Math.abs(summed - 4 * node.cpuHours) < 1e-6 * summed);
});

test('projection: per-block cost on the straight line through the federated sizes measured', () => {
  const p = projectTo([units(4, 0.02), units(7, 0.035)], 98);
  assert.equal(p.projected, true);
  assert.ok(Math.abs(p.block.cpuSeconds - 0.49) < 1e-9); // 0.005 s per authority
  assert.equal(projectTo([units(4, 0.02)], 98).projected, false);
});

const gatewayUnits: GatewayUnits = {
  background: { cpuSeconds: 0.002, bytesSent: 10, rssMb: 120 },
  perSubmission: { cpuSeconds: 0.004, diskBytes: 600, bytesSent: 3000 },
  perRead: { cpuSeconds: 0.003, diskBytes: 500, bytesSent: 8000 },
  peakRssMb: 180,
  calls: 100,
};

test("the gateway's year is its background plus the country's submissions and reads through it", () => {
  const nation = nationalCounts(a);
  const submitted = 221_250;
  const y = gatewayYearFor(gatewayUnits, submitted, nation.read);
  const cpu = 0.002 * YEAR_SECONDS + submitted * 0.004 + nation.read * 0.003;
  assert.ok(Math.abs(y.cpuHours - cpu / 3600) < 1e-9);
  assert.ok(Math.abs(y.diskGb - (submitted * 600 + nation.read * 500) / 1e9) < 1e-12);
  assert.ok(Math.abs(y.egressGb - (10 * YEAR_SECONDS + submitted * 3000 + nation.read * 8000) / 1e9) < 1e-12);
});

test('central with its gateway: the shares add up to four nodes plus one gateway, each by population', () => {
  const u = units(4, 0.02, 0.001);
  const withGateway = perMunicipality(a, 'central', u, 4, gatewayUnits);
  const without = perMunicipality(a, 'central', u, 4);
  const classes = municipalities(a);
  const total = (rows: typeof without, get: (r: (typeof rows)[number]) => number) =>
    rows.reduce((s, r, i) => s + get(r) * (classes[i]?.count ?? 0), 0);
  const nation = nationalCounts(a);
  const gw = gatewayYearFor(gatewayUnits, 221_250, nation.read);
  const added = total(withGateway, (r) => r.cpuHours) - total(without, (r) => r.cpuHours);
  assert.ok(Math.abs(added - gw.cpuHours) < 1e-6 * gw.cpuHours);
  assert.ok(Math.abs(total(withGateway, (r) => r.gateway?.diskGb ?? 0) - gw.diskGb) < 1e-9);
  // Kroner: one more minimum host (the gateway's), shared out in full.
  const hosts = (rows: typeof without) => total(rows, (r) => r.kroner.onMinimumHost);
  const gatewayHost = kroner(a, gw).onMinimumHost;
  assert.ok(Math.abs(hosts(withGateway) - hosts(without) - gatewayHost) < 1e-6 * gatewayHost);
  // A bigger municipality pays a bigger share of the gateway.
  const capital = withGateway[0]?.gateway?.cpuHours ?? 0;
  const island = withGateway.at(-1)?.gateway?.cpuHours ?? 0;
  assert.ok(capital > island * 100);
});
