#!/usr/bin/env python3
"""Writes the bundled reference factories: ref-10mw.yaml (every rack spelled out), ref-10mw-tower.yaml (the same
factory with an evaporative plant: cooling towers and water-cooled chillers) and ref-1gw.yaml (templated).

Sizing and sources are explained in docs/twin.md. Run from anywhere: python3 factories/generate.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

COMMON_HEAD = """\
# {title}
# Written by factories/generate.py; sizing and the source of every value: docs/twin.md.
name: {name}
description: {description}
site:
  name: leesburg-va
  weather: USA_VA_Leesburg.Exec.epw   # EnergyPlus TMYx, bundled under weather/
  grid_carbon: VA_hourly_2022.csv   # hourly gCO2/kWh (dc-rl, MIT), bundled under carbon/
  latitude: 39.08
  longitude: -77.56
gpu:
  model: GB200-class
  max_power_watts: 1200          # B200 in GB200 NVL72, per GPU
  idle_power_watts: 200          # ~17 % of max (TWIN.md: 15-20 %)
  throttle_celsius: 87           # slowdown: clocks drop above this
  shutdown_celsius: 95           # hardware protection
  thermal_resistance_k_per_watt: 0.03   # junction to coolant, clean cold plate, design flow
  convective_share: 0.5          # part of that resistance that is coolant-side convection
  heat_capacity_joules_per_kelvin: 600
rack_profile:
  gpus: 72
  other_idle_watts: 12000        # Grace CPUs, NVLink switch trays, NICs, fans, PSU losses
  other_max_watts: 33600         # 120 kW rack at full load minus 72 x 1200 W
  liquid_fraction: 0.85          # direct-to-chip share of rack heat
  air_delta_celsius: 15          # rack air temperature rise at design airflow
  coolant_litres: 40             # cold plates and rack manifold
"""


def ref_10mw(towers=False):
    if towers:
        head = COMMON_HEAD.format(
            title="Reference 10 MW AI factory with an evaporative plant: ref-10mw with cooling towers and water-cooled chillers\n"
                  "# in place of dry coolers and air-cooled chillers, the heat rejection a hot, dry site such as Phoenix would build.",
            name="ref-10mw-tower",
            description="ref-10mw with cooling towers and water-cooled chillers, so free cooling and condensing track the wet bulb")
    else:
        head = COMMON_HEAD.format(
            title="Reference 10 MW AI factory: 2 halls x 40 GB200 NVL72-class racks, Leesburg, Virginia.",
            name="ref-10mw",
            description="2 halls x 40 liquid-cooled NVL72-class racks (~9.6 MW IT at full load), 2N power, N+1 cooling")
    out = [head]
    out.append("halls:\n  - id: hall-1\n  - id: hall-2\n")
    out.append("""power:
  utility_feeds:
    - {id: utility-a, capacity_kw: 16000}
    - {id: utility-b, capacity_kw: 16000}
  generators:
    - {id: gen-a, feed: utility-a, capacity_kw: 14000, start_time: 10s}
    - {id: gen-b, feed: utility-b, capacity_kw: 14000, start_time: 10s}
  transformers:
    - {id: tx-a, feed: utility-a, rated_kva: 16000, no_load_loss_kw: 16, load_loss_kw: 130}
    - {id: tx-b, feed: utility-b, rated_kva: 16000, no_load_loss_kw: 16, load_loss_kw: 130}
  ups:
    - {id: ups-a, transformer: tx-a, rated_kw: 11000, mode: double-conversion, runtime_at_rated_load: 5m}
    - {id: ups-b, transformer: tx-b, rated_kw: 11000, mode: double-conversion, runtime_at_rated_load: 5m}
  busways:
    - {id: bw-h1-a, ups: ups-a, hall: hall-1, rated_kw: 5500}
    - {id: bw-h1-b, ups: ups-b, hall: hall-1, rated_kw: 5500}
    - {id: bw-h2-a, ups: ups-a, hall: hall-2, rated_kw: 5500}
    - {id: bw-h2-b, ups: ups-b, hall: hall-2, rated_kw: 5500}
cooling:
  facility_water:
    supply_setpoint_celsius: 20
    pumps: 3
    pumps_required: 2
    design_flow_kg_per_s: 320
    pump_power_kw_at_design: 130
    volume_litres: 120000
""")
    if towers:
        # Open towers with a plate heat exchanger: 5.5 K above the wet bulb (3.9 K tower approach at CTI's 95/85/78 °F
        # rating plus 1.5 K across the plate unit); fans at ASHRAE 90.1's minimum of 40.2 gpm/hp, 3 gpm/ton.
        out.append("  cooling_towers:\n")
        for i in range(1, 7):
            feed = "utility-a" if i % 2 else "utility-b"
            out.append(f"    - {{id: ct-{i}, capacity_kw: 2500, approach_celsius: 5.5, fan_power_kw: 40, cycles_of_concentration: 4, feed: {feed}}}\n")
    else:
        out.append("  dry_coolers:\n")
        for i in range(1, 7):
            feed = "utility-a" if i % 2 else "utility-b"
            out.append(f"    - {{id: dc-{i}, capacity_kw: 2500, approach_celsius: 8, fan_power_kw: 45, feed: {feed}}}\n")
    out.append("  chillers:\n")
    for i, (feed, standby) in enumerate([("utility-a", False), ("utility-b", False), ("utility-b", True)], 1):
        sb = ", standby: true" if standby else ""
        if towers:
            # Water-cooled centrifugals: condensing 11 K over the wet bulb at AHRI 550/590's rating (29.4 °C entering,
            # 35 °C leaving condenser water at 25.6 °C wet bulb, ~1.5 K condenser approach); condenser pump at ASHRAE
            # 90.1 Appendix G's 19 W/gpm x 3 gpm/ton.
            out.append(f"    - {{id: chiller-{i}, capacity_kw: 5000, carnot_fraction: 0.6, condenser: water, condenser_approach_celsius: 11, "
                       f"min_condensing_celsius: 25, condenser_pump_kw: 80, min_power_fraction: 0.1, restart_time: 5m, feed: {feed}{sb}}}\n")
        else:
            out.append(f"    - {{id: chiller-{i}, capacity_kw: 5000, carnot_fraction: 0.5, condenser_approach_celsius: 12, "
                       f"min_condensing_celsius: 30, min_power_fraction: 0.1, restart_time: 5m, feed: {feed}{sb}}}\n")
    out.append("  cdus:\n")
    for h in (1, 2):
        for row in "abcde":
            out.append(f"    - {{id: cdu-h{h}-{row}, hall: hall-{h}, capacity_kw: 1000, pumps: 3, pumps_required: 2, "
                       f"design_flow_kg_per_s: 30, pump_power_kw_at_design: 11, hx_effectiveness: 0.75, "
                       f"supply_setpoint_celsius: 30, coolant_litres: 300}}\n")
    out.append("  crahs:\n")
    for h in (1, 2):
        for i in range(1, 5):
            sb = ", standby: true" if i == 4 else ""
            out.append(f"    - {{id: crah-h{h}-{i}, hall: hall-{h}, airflow_m3_per_s: 15, fan_power_kw_at_design: 15, "
                       f"coil_approach_celsius: 3, supply_setpoint_celsius: 22{sb}}}\n")
    out.append("racks:\n")
    for h in (1, 2):
        for r, row in enumerate("abcde"):
            for n in range(1, 9):
                out.append(f"  - {{id: h{h}-{row}{n:02d}, hall: hall-{h}, row: {row.upper()}, cdu: cdu-h{h}-{row}, "
                           f"busways: [bw-h{h}-a, bw-h{h}-b]}}\n")
    out.append("misc:\n  lighting_and_office_kw: 80\n")
    return "".join(out)


def ref_1gw():
    halls = 100  # 100 halls x 80 racks = 8,000 racks, ~960 MW IT at full load
    out = [COMMON_HEAD.format(
        title="Reference 1 GW AI factory: 100 halls x 80 racks (8,000 NVL72-class racks) for scale benchmarks.",
        name="ref-1gw",
        description="100 halls x 80 racks (~960 MW IT at full load), 2N power per block of 2 halls, N+1 cooling")]
    out.append("halls:\n")
    for h in range(1, halls + 1):
        out.append(f"  - id: hall-{h:03d}\n")
    out.append("power:\n  utility_feeds:\n")
    blocks = halls // 2
    for b in range(1, blocks + 1):
        for side in "ab":
            out.append(f"    - {{id: utility-{b:02d}{side}, capacity_kw: 32000}}\n")
    out.append("  generators:\n")
    for b in range(1, blocks + 1):
        for side in "ab":
            out.append(f"    - {{id: gen-{b:02d}{side}, feed: utility-{b:02d}{side}, capacity_kw: 28000, start_time: 10s}}\n")
    out.append("  transformers:\n")
    for b in range(1, blocks + 1):
        for side in "ab":
            out.append(f"    - {{id: tx-{b:02d}{side}, feed: utility-{b:02d}{side}, rated_kva: 32000, no_load_loss_kw: 30, load_loss_kw: 250}}\n")
    out.append("  ups:\n")
    for b in range(1, blocks + 1):
        for side in "ab":
            out.append(f"    - {{id: ups-{b:02d}{side}, transformer: tx-{b:02d}{side}, rated_kw: 22000, mode: double-conversion, runtime_at_rated_load: 5m}}\n")
    out.append("  busways:\n")
    for h in range(1, halls + 1):
        b = (h + 1) // 2
        for side in "ab":
            out.append(f"    - {{id: bw-{h:03d}-{side}, ups: ups-{b:02d}{side}, hall: hall-{h:03d}, rated_kw: 11000}}\n")
    out.append("""cooling:
  facility_water:
    supply_setpoint_celsius: 20
    pumps: 3
    pumps_required: 2
    design_flow_kg_per_s: 32000
    pump_power_kw_at_design: 13000
    volume_litres: 12000000
""")
    out.append("  dry_coolers:\n")
    for b in range(1, blocks + 1):
        out.append(f"    - {{id: \"dc-{b:02d}-{{n}}\", count: 12, capacity_kw: 2500, approach_celsius: 8, fan_power_kw: 45, feed: utility-{b:02d}a}}\n")
    out.append("  chillers:\n")
    for b in range(1, blocks + 1):
        out.append(f"    - {{id: \"chiller-{b:02d}-{{n}}\", count: 4, capacity_kw: 5000, carnot_fraction: 0.5, condenser_approach_celsius: 12, "
                   f"min_condensing_celsius: 30, min_power_fraction: 0.1, restart_time: 5m, feed: utility-{b:02d}b}}\n")
        out.append(f"    - {{id: chiller-{b:02d}-s, capacity_kw: 5000, carnot_fraction: 0.5, condenser_approach_celsius: 12, "
                   f"min_condensing_celsius: 30, min_power_fraction: 0.1, restart_time: 5m, feed: utility-{b:02d}a, standby: true}}\n")
    out.append("  cdus:\n")
    for h in range(1, halls + 1):
        out.append(f"    - {{id: \"cdu-{h:03d}-{{n}}\", count: 10, hall: hall-{h:03d}, capacity_kw: 1000, pumps: 3, pumps_required: 2, "
                   f"design_flow_kg_per_s: 30, pump_power_kw_at_design: 11, hx_effectiveness: 0.75, supply_setpoint_celsius: 30, coolant_litres: 300}}\n")
    out.append("  crahs:\n")
    for h in range(1, halls + 1):
        out.append(f"    - {{id: \"crah-{h:03d}-{{n}}\", count: 6, hall: hall-{h:03d}, airflow_m3_per_s: 15, fan_power_kw_at_design: 15, "
                   f"coil_approach_celsius: 3, supply_setpoint_celsius: 22}}\n")
        out.append(f"    - {{id: crah-{h:03d}-s, hall: hall-{h:03d}, airflow_m3_per_s: 15, fan_power_kw_at_design: 15, "
                   f"coil_approach_celsius: 3, supply_setpoint_celsius: 22, standby: true}}\n")
    out.append("racks:\n")
    for h in range(1, halls + 1):
        for c in range(1, 11):
            out.append(f"  - {{id: \"r{h:03d}-{c:02d}-{{n:00}}\", count: 8, hall: hall-{h:03d}, row: \"{c:02d}\", cdu: cdu-{h:03d}-{c}, "
                       f"busways: [bw-{h:03d}-a, bw-{h:03d}-b]}}\n")
    out.append("misc:\n  lighting_and_office_kw: 8000\n")
    return "".join(out)


if __name__ == "__main__":
    with open(os.path.join(HERE, "ref-10mw.yaml"), "w") as f:
        f.write(ref_10mw())
    with open(os.path.join(HERE, "ref-10mw-tower.yaml"), "w") as f:
        f.write(ref_10mw(towers=True))
    with open(os.path.join(HERE, "ref-1gw.yaml"), "w") as f:
        f.write(ref_1gw())
