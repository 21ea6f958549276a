"""What is publicly known about each utility's customer interface, to prefill the setup wizard.

Users rarely know their meter's interface, speed or model, but they know their utility. Every
fact below has a public source (`sources`: the operator's own documents first, then captures
and reader tools, marked "user report" where a user says it); a fact no source states is None
(or "auto" for the serial format and model), never a guess. Wired M-Bus is 2400 baud 8E1 by
its standard (EN 13757-2) where an operator names only the speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from .const import SERIAL_FORMAT_AUTO
from .decoder.models import AUTO

type Country = Literal["CH", "AT"]
# "varies": the operator installs meters with different interfaces (look at the socket);
# "not_dlms": its meters push no DLMS on the customer interface (OMS, MEP, wireless M-Bus).
type Interface = Literal["mbus", "p1", "optical", "varies", "not_dlms"]

CONF_UTILITY: Final = "utility"  # wizard field of the port steps
NO_UTILITY: Final = "none"  # the wizard's default: no preset, every step as without this table

SCS: Final = "https://github.com/scs/smartmeter-datacollector"
AMSR: Final = "https://github.com/UtilitechAS/amsreader-firmware"
HACKDAY: Final = "https://github.com/tom-ch1/EnergyDataHackday2021_SmartMeter_Local_CII"
OE: Final = f"{AMSR}/blob/main/doc/Austria/Smart.meter.customer.interfaces.Austria.pdf"
TIROL: Final = "https://github.com/fneur/smart-meter-tirol"


@dataclass(frozen=True, slots=True)
class UtilityPreset:
    """One utility (grid operator); `id` may be stored in config entries: never rename."""

    id: str
    name: str
    country: Country
    interface: Interface | None  # usual customer interface, None: not documented
    serial_format: str  # one of const.SERIAL_FORMATS, or "auto" when not documented
    model: str  # a decoder.models.MODELS id, or "auto" (unknown, or several models in use)
    uses_gak: bool | None  # whether pushes carry an authentication tag (GAK), None: unknown
    key_url: str | None  # portal or mailto: where the customer gets the key, None: unknown
    sources: tuple[str, ...]  # where the facts above come from


PRESETS: Final[tuple[UtilityPreset, ...]] = (
    # -- Switzerland -------------------------------------------------------------------------
    # E450 on M-Bus (EKZ funds smartmeter-datacollector: 2400 8E1). A 2021 EKZ E450 pushed in
    # plain text; whether it encrypts today is unknown. The newer Meter&Control SX401 has no
    # customer interface (EKZ, quoted in SCS issue #67). The FAQ is about the local interface.
    UtilityPreset(
        "ekz",
        "EKZ",
        "CH",
        "mbus",
        "2400_8E1",
        "lg_e450",
        None,
        "https://www.ekz.ch/dam/ekz/myekz/FAQ-Nutzung-lokale-Schnittstelle-am-SM.pdf",
        (HACKDAY, SCS, f"{SCS}/issues/67"),
    ),
    # AEW: E450 on M-Bus (hackday README).
    UtilityPreset("aew", "AEW", "CH", "mbus", "2400_8E1", "lg_e450", None, None, (HACKDAY,)),
    # Rollout and remote reading only: nothing public about the customer interface.
    UtilityPreset(
        "bkw",
        "BKW",
        "CH",
        None,
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        ("https://www.bkw.ch/de/energie/stromnetz/smart-meter",),
    ),
    # Kamstrup Omnipower (ckw.ch) read through its HAN module at 2400 8N1 (user report,
    # amsreader issue #453); Kamstrup lists decode with model auto.
    UtilityPreset(
        "ckw",
        "CKW",
        "CH",
        "mbus",
        "2400_8N1",
        AUTO,
        None,
        None,
        ("https://www.ckw.ch/lp/zaehlerwechsel.html", f"{AMSR}/issues/453"),
    ),
    # Honeywell/Elster AS3000 with an AM540 module on P1 (hackday README).
    UtilityPreset("ewb", "ewb (Bern)", "CH", "p1", "115200_8N1", AUTO, None, None, (HACKDAY,)),
    UtilityPreset(
        "ewz",
        "ewz (Zürich)",
        "CH",
        None,
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        ("https://www.powernewz.ch/2021/smart-city-smart-meter-rollout-zuerich-erklaert/",),
    ),
    # Sagemcom XT211 with a DSMR 5 P1 port that Groupe E activates on request (user report,
    # esphome/feature-requests #2569).
    UtilityPreset(
        "groupe_e",
        "Groupe E",
        "CH",
        "p1",
        "115200_8N1",
        AUTO,
        None,
        None,
        ("https://github.com/esphome/feature-requests/issues/2569",),
    ),
    UtilityPreset(
        "iwb",
        "IWB (Basel)",
        "CH",
        None,
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        ("https://www.iwb.ch/Themen/40-Jahre-IWB/-10-Von-der-Lochkarte-zur-App.html",),
    ),
    # Iskraemeco AM550 on P1 and L+G E450 on M-Bus, both seen pushing in plain text (SCS
    # issue #33, amsreader issue #949): no authentication key.
    UtilityPreset(
        "romande_energie",
        "Romande Energie",
        "CH",
        "varies",
        SERIAL_FORMAT_AUTO,
        AUTO,
        False,
        None,
        (HACKDAY, f"{SCS}/issues/33", f"{AMSR}/issues/949"),
    ),
    # E450 on M-Bus; the key by e-mail (RWB's E450 manual, Security Suite 0; pushes every 5 s,
    # 1 min and 15 min).
    UtilityPreset(
        "rwb",
        "RWB (Baden)",
        "CH",
        "mbus",
        "2400_8E1",
        "lg_e450",
        None,
        "mailto:smartmeter@regionalwerke.ch",
        (f"{AMSR}/blob/main/doc/Switzerland/RWB_SmartMeter_Bedienungsanleitung.pdf",),
    ),
    # An E450 "S5" at 9600 baud (SCS issue #73); the parity is not stated.
    UtilityPreset(
        "sil",
        "SIL (Lausanne)",
        "CH",
        "mbus",
        SERIAL_FORMAT_AUTO,
        "lg_e450",
        None,
        None,
        (f"{SCS}/issues/73",),
    ),
    # -- Austria: the operators of the Oesterreichs Energie concept (OE, table on page 2) ------
    # Sagemcom T210-D-r on P1 (115200 8N1, DSMR text inside DLMS) and L+G E450 on M-Bus; both
    # authenticate (security control 0x30) and the portal shows both keys.
    UtilityPreset(
        "energienetze_steiermark",
        "Energienetze Steiermark",
        "AT",
        "varies",
        SERIAL_FORMAT_AUTO,
        AUTO,
        True,
        "https://portal.e-netze.at",
        (OE, "https://github.com/debug-richard/sagemcom-dsmr", f"{SCS}/issues/45"),
    ),
    # NES meters with MEP or wireless M-Bus: no DLMS customer interface (OE).
    UtilityPreset(
        "energie_klagenfurt",
        "Energie Klagenfurt",
        "AT",
        "not_dlms",
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        (OE,),
    ),
    # Iskraemeco AM550 and Siemens IM150/IM350 on P1 (needs external power and an inverted
    # line), pushes every second, "Authentifizierung: Nein" (the operator's instruction sheets
    # in Andre-Schuiki/esphome_im350; amsreader issue #787: security control 0x20).
    UtilityPreset(
        "kaernten_netz",
        "Kärnten Netz (KNG)",
        "AT",
        "p1",
        "115200_8N1",
        AUTO,
        False,
        None,
        (OE, "https://github.com/Andre-Schuiki/esphome_im350", f"{AMSR}/issues/787"),
    ),
    # The interface sits on the meter as wireless M-Bus or MEP, not DLMS (OE; Linz Netz's own
    # wireless M-Bus description).
    UtilityPreset(
        "linz_netz",
        "Linz Netz",
        "AT",
        "not_dlms",
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        (OE, "https://github.com/SzczepanLeon/esphome-components/issues/167"),
    ),
    # L+G E450 on M-Bus, 2400 even parity (the operator's e-mail, SCS issue #54); both keys
    # come in a text file and the pushes are authenticated (0x30, amsreader issue #501).
    UtilityPreset(
        "netz_burgenland",
        "Netz Burgenland",
        "AT",
        "mbus",
        "2400_8E1",
        "lg_e450",
        True,
        None,
        (OE, f"{SCS}/issues/54", f"{AMSR}/issues/501"),
    ),
    # Sagemcom T210-D/S210 and Kaifa MA110M/MA309 on M-Bus at 2400 baud, every 5 s, one key
    # and no authentication key, asked for by post or e-mail (Netz NÖ brochure, 2021/2023).
    UtilityPreset(
        "netz_noe",
        "Netz Niederösterreich (EVN)",
        "AT",
        "mbus",
        "2400_8E1",
        AUTO,
        False,
        "mailto:smartmeter@netz-noe.at",
        (
            OE,
            f"{AMSR}/blob/main/doc/Austria/218_9_SmartMeter_Kundenschnittstelle_lektoriert_1410_Web.pdf",
        ),
    ),
    # Siemens TD-3511/3512 (AMIS) push OMS on the optical port, acknowledged frame by frame:
    # not DLMS (netzooe.at FAQ, OE).
    UtilityPreset(
        "netz_ooe",
        "Netz Oberösterreich (Energie AG)",
        "AT",
        "not_dlms",
        SERIAL_FORMAT_AUTO,
        AUTO,
        None,
        None,
        (OE, "https://www.netzooe.at/Themen/Information/smart-meter/FAQ"),
    ),
    # Kaifa MA309 on M-Bus, 2400 8E1, every 5 s (smartmeter_austria_energy); the same
    # configuration as TINETZ, which sends no authentication tag (fneur/smart-meter-tirol).
    UtilityPreset(
        "salzburg_netz",
        "Salzburg Netz",
        "AT",
        "mbus",
        "2400_8E1",
        "kaifa_ma309m",
        False,
        None,
        (OE, "https://github.com/NECH2004/smartmeter_austria_energy", TIROL),
    ),
    # L+G E450 with an RJ12 socket read as M-Bus (SCS issue #34, PR #37).
    UtilityPreset(
        "stromnetz_graz",
        "Stromnetz Graz",
        "AT",
        "mbus",
        "2400_8E1",
        "lg_e450",
        None,
        None,
        (OE, f"{SCS}/issues/34"),
    ),
    # Kaifa MA110M/MA309M on M-Bus, 2400 8E1, every 5 s, Security Suite 1 without
    # authentication (0x21); the interface is switched on in the customer portal and the key
    # is sent (TINETZ's technical description).
    UtilityPreset(
        "tinetz",
        "TINETZ",
        "AT",
        "mbus",
        "2400_8E1",
        "kaifa_ma309m",
        False,
        "https://kundenportal.tinetz.at",
        (
            OE,
            f"{AMSR}/blob/main/doc/Austria/Beschreibung_Kundenschnittstelle_Smart_Meter_TINETZ.pdf",
            TIROL,
        ),
    ),
    UtilityPreset(
        "ikb",
        "IKB (Innsbruck)",
        "AT",
        "mbus",
        "2400_8E1",
        "kaifa_ma309m",
        False,
        None,
        (OE, TIROL),
    ),
    # Kaifa MA309M(H)/MA110M on M-Bus (frames with security control 0x21); the key comes from
    # the web portal (SmartMeterReadout READMEs).
    UtilityPreset(
        "vorarlberg_netz",
        "Vorarlberger Energienetze",
        "AT",
        "mbus",
        "2400_8E1",
        "kaifa_ma309m",
        False,
        "https://webportal.vorarlbergnetz.at",
        (OE, "https://github.com/PhilippSev/SmartMeterReadout", TIROL),
    ),
    # Siemens IM150/IM350, L+G E450 and Iskraemeco AM550 on the optical port at 9600 8N1; the
    # interface is switched on in the Smart Meter web portal, which then shows the one key.
    UtilityPreset(
        "wiener_netze",
        "Wiener Netze",
        "AT",
        "optical",
        "9600_8N1",
        AUTO,
        False,
        "https://smartmeter-web.wienernetze.at",
        (
            OE,
            "https://www.wienernetze.at/smart-meter-kundenschnittstelle",
            "https://github.com/bernikr/esphome-wienernetze-im150-smartmeter",
        ),
    ),
    # Siemens IM350 on P1 at 115200 baud, every second (Tasmota docs, Wels Strom's IMx50 sheet).
    UtilityPreset(
        "eww_wels",
        "eww Wels",
        "AT",
        "p1",
        "115200_8N1",
        "siemens_im350",
        None,
        None,
        ("https://tasmota.github.io/docs/Smart-Meter-Interface/",),
    ),
)

PRESETS_BY_ID: Final[dict[str, UtilityPreset]] = {p.id: p for p in PRESETS}


def sorted_presets() -> list[UtilityPreset]:
    """Switzerland first (the integration's home), then Austria; by name within a country."""
    order = {"CH": 0, "AT": 1}
    return sorted(PRESETS, key=lambda p: (order[p.country], p.name.casefold()))


def get_preset(utility: str | None) -> UtilityPreset | None:
    """Look up a wizard choice; None for 'none/other' or an id no longer in the table."""
    return PRESETS_BY_ID.get(utility or NO_UTILITY)
