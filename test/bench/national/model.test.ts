/**
 * The national workload model's arithmetic: the counts deploy/national-model.md states for a
 * municipality follow from assumptions.json, and the municipalities add up to the country.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  loadAssumptions,
  municipalities,
  municipalityCount,
  nationalCounts,
  productionBlocksPerYear,
  submittedTotal,
  totalPopulation,
  yearlyCounts,
} from './model.ts';

const a = loadAssumptions();

test('the model covers 98 municipalities and the stated 10,000–15,000 children', () => {
  assert.equal(municipalityCount(a), 98);
  assert.ok(a.childrenPlacedNationally >= 10_000 && a.childrenPlacedNationally <= 15_000);
  // Denmark has about 5.9–6.0 million inhabitants; the size classes must add up to that.
  const population = totalPopulation(a);
  assert.ok(population > 5_800_000 && population < 6_100_000, `population ${population}`);
});

test('1,000 placed children make the counts deploy/national-model.md states', () => {
  assert.deepEqual(yearlyCounts(a, 1000), {
    create: 2400, // placement 1 + consultant 0.6 + taxi 0.5 + school support 0.3 per child
    activate: 2400, // one co-signed activation per contract
    report: 6400, // placement 4 a year, consultant 0.6 × 4
    amend: 500,
    anchor: 6000,
    decision: 21600, // 12 + 0.6 × 12 + 0.5 × 3 + 0.3 × 3 monthly decisions per child
    read: 240_000,
  });
  assert.equal(submittedTotal(yearlyCounts(a, 1000)), 17_700);
});

test('a 50,000-inhabitant municipality places about 106 children; the classes add up to the nation', () => {
  const medium = municipalities(a).find((m) => m.name === 'medium');
  assert.ok(medium);
  assert.equal(Math.round(medium.children), 106);
  assert.equal(Math.round(submittedTotal(medium.counts)), 1870);
  const summed = municipalities(a).reduce((s, m) => s + m.count * submittedTotal(m.counts), 0);
  assert.equal(Math.round(summed), Math.round(submittedTotal(nationalCounts(a))));
  assert.equal(Math.round(submittedTotal(nationalCounts(a))), 221_250);
});

test('a production year has an empty block every 10 minutes plus one block per transaction', () => {
  assert.equal(productionBlocksPerYear(a, 0), 52_560);
  assert.equal(productionBlocksPerYear(a, 1000), 53_560);
});
