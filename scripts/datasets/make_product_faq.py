#!/usr/bin/env python3
"""Writes data/product_faq.jsonl: about 2,000 instruction/response pairs answering customer
questions about the products of Brightline Home, a fictional smart-home company (the same
company as data/support_tickets.csv), for instruction-tuning workshops.

Each line: {"id", "product", "topic", "instruction", "input", "response"}. `input` is an
optional detail the customer adds (empty when there is none), so Alpaca-style templates can
show both forms. Questions come in several phrasings (formal, casual, terse, with typos);
answers are consistent with one product fact sheet, so a fine-tuned model can be checked for
facts it should know.

Everything is invented by this script (deterministic: seed 20241106). Licence: CC0 1.0.
Run: python3 scripts/datasets/make_product_faq.py [OUT.jsonl]  (standard library only)
"""
import json
import os
import random
import sys

SEED = 20241106
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "data", "product_faq.jsonl")
if len(sys.argv) > 1:
    OUT = sys.argv[1]   # another output path (the tests check determinism)
r = random.Random(SEED)

PRODUCTS = {
    "Lumo bulb": dict(price="19.99 EUR", warranty="2 years", kind="smart bulb", power="9 W (806 lumen, like a 60 W bulb)",
                      connect="Zigbee through the Brightline Hub, or Bluetooth without a hub", reset="switch it off and on five times in a row, waiting about one second each time; it blinks twice when reset",
                      compat="Alexa, Google Home and Apple Home (through the Hub)", outdoor="no, it is for dry indoor fittings (E27 and GU10 versions)",
                      battery=None, sub="no subscription is needed", limit="up to 50 Lumo devices per Hub"),
    "Lumo strip": dict(price="39.99 EUR for 2 m, extensions 14.99 EUR per metre", warranty="2 years", kind="LED light strip", power="18 W for 2 m",
                       connect="Zigbee through the Brightline Hub, or Bluetooth without a hub", reset="hold the button on the controller for 10 seconds until the strip flashes white",
                       compat="Alexa, Google Home and Apple Home (through the Hub)", outdoor="no; the strip is rated IP20 for indoor use only",
                       battery=None, sub="no subscription is needed", limit="up to 10 m per controller"),
    "Thermo One thermostat": dict(price="149 EUR", warranty="3 years", kind="smart thermostat", power="wired 24 V, or two AA batteries for battery-only boilers",
                                  connect="Wi-Fi (2.4 GHz) directly, no Hub needed", reset="hold the dial pressed for 15 seconds until the display shows RESET",
                                  compat="Alexa, Google Home and Apple Home", outdoor="no, it belongs on an inside wall away from radiators",
                                  battery="the AA batteries last about a year", sub="no subscription is needed; Brightline Plus adds energy reports",
                                  limit="one heating zone per thermostat; add a Thermo One for each zone"),
    "Doorly doorbell": dict(price="129 EUR", warranty="2 years", kind="video doorbell", power="its built-in battery or an existing doorbell transformer (8-24 V AC)",
                            connect="Wi-Fi (2.4 GHz) directly, no Hub needed", reset="press the reset pinhole on the back for 10 seconds until the ring flashes blue",
                            compat="Alexa and Google Home (live view on Echo Show and Nest Hub)", outdoor="yes, it is rated IP65 and works from -20 to 50 °C",
                            battery="the battery lasts 3 to 6 months depending on how many events it records", sub="live view and notifications are free; recordings need Brightline Plus",
                            limit="one doorbell per door, up to 4 per home"),
    "Brightline Hub": dict(price="69 EUR", warranty="2 years", kind="smart home hub", power="the included USB-C power adapter",
                           connect="Ethernet or Wi-Fi (2.4 and 5 GHz) to your router, Zigbee and Thread to devices", reset="hold the button on the back for 20 seconds until the light turns amber",
                           compat="Alexa, Google Home and Apple Home, and Matter controllers", outdoor="no, it is an indoor device",
                           battery=None, sub="no subscription is needed", limit="up to 50 Zigbee devices and 30 Thread devices"),
    "Aero air sensor": dict(price="89 EUR", warranty="2 years", kind="indoor air quality sensor", power="USB-C, with a battery that lasts about two weeks unplugged",
                            connect="Thread through the Brightline Hub", reset="hold the top button for 10 seconds until the ring blinks red",
                            compat="Apple Home and Google Home (through the Hub)", outdoor="no; it measures indoor air only",
                            battery="the battery lasts about two weeks unplugged", sub="no subscription is needed; Brightline Plus keeps one year of history instead of 30 days",
                            limit="up to 10 sensors per home", measures="CO2, humidity, temperature and particulate matter (PM2.5)"),
    "SafePlug smart plug": dict(price="24.99 EUR, or 89.99 EUR for a four-pack", warranty="2 years", kind="smart plug", power="up to 3,680 W (16 A) load",
                                connect="Wi-Fi (2.4 GHz) directly, or Thread through the Hub", reset="hold the button on the side for 8 seconds until the light blinks quickly",
                                compat="Alexa, Google Home and Apple Home", outdoor="no, use it indoors only",
                                battery=None, sub="no subscription is needed", limit="no limit when on Wi-Fi"),
    "Brightline app": dict(price="free", warranty=None, kind="app", power=None, connect="iOS 16 or later and Android 11 or later",
                           reset="log out, delete the app, reinstall it and log in again; your devices and scenes are kept in your account",
                           compat="iPhone, iPad and Android phones and tablets", outdoor=None, battery=None,
                           sub="the app is free; Brightline Plus (4.99 EUR a month or 49 EUR a year) adds recordings, energy reports and longer history",
                           limit="up to 10 people can share one home"),
}

# topic -> (question phrasings, answer builder, applies)
def ans_price(p, f):
    return f"The {p} costs {f['price']} in our shop (prices include VAT). We sometimes run seasonal offers; the current price is always on brightline.example."

def ans_warranty(p, f):
    return (f"The {p} comes with a {f['warranty']} warranty from the delivery date. If it stops working in that time, contact support with your order number "
            f"and we send a replacement at no cost. The warranty does not cover damage from drops, water (unless the device is rated for it) or opening the device.")

def ans_reset(p, f):
    if p == "Brightline app":
        return f"To reset the app, {f['reset']}."
    return (f"To factory reset the {p}, {f['reset']}. After the reset, open the Brightline app, tap Add device and set it up again. "
            f"A factory reset removes the device from your home, so its automations need to be added again.")

def ans_compat(p, f):
    return f"The {p} works with {f['compat']}. Link your Brightline account in the other app once, and the device appears there automatically."

def ans_connect(p, f):
    if p == "Brightline app":
        return f"The Brightline app needs {f['connect']}. Older versions of iOS and Android are not supported because they lack the security updates we rely on."
    return f"The {p} connects over {f['connect']}."

def ans_5ghz(p, f):
    if "Hub" in f["connect"] and "Wi-Fi" not in f["connect"]:
        return f"The {p} does not use your Wi-Fi at all: it talks to the Brightline Hub, and the Hub joins your network on 2.4 or 5 GHz. So a 5 GHz only network is fine as long as you have a Hub."
    if p == "Brightline Hub":
        return "Yes. The Brightline Hub joins Wi-Fi on 2.4 GHz or 5 GHz, or you can plug it into your router with Ethernet."
    return (f"The {p} needs a 2.4 GHz Wi-Fi network. Most routers broadcast both bands under one name, which works. If your router is 5 GHz only, "
            f"turn on the 2.4 GHz band in the router settings, or add the device through a Brightline Hub where that is supported.")

def ans_outdoor(p, f):
    return f"Can the {p} be used outdoors? {f['outdoor'][0].upper() + f['outdoor'][1:]}."

def ans_power(p, f):
    return f"The {p} is powered by {f['power']}."

def ans_battery(p, f):
    return f"For the {p}, {f['battery']}. The app warns you when the battery drops below 15 percent."

def ans_sub(p, f):
    return f"For the {p}, {f['sub']}."

def ans_limit(p, f):
    return f"For the {p}: {f['limit']}."

def ans_offline(p, f):
    steps = ["check that the device has power", "restart your router and wait two minutes",
             "make sure your phone is on the same network when you set it up"]
    if "Hub" in f["connect"]:
        steps.insert(1, "check that the Brightline Hub shows a white light (it is online)")
        steps.append("move the device or the Hub closer together (within about 10 metres, fewer through thick walls)")
    else:
        steps.append("check that the Wi-Fi signal where the device is mounted is at least two bars in the app")
    steps.append(f"if it is still offline, factory reset the {p} and add it again")
    return f"If the {p} shows as offline: " + "; ".join(f"{i + 1}) {s}" for i, s in enumerate(steps)) + "."

def ans_firmware(p, f):
    return (f"Firmware updates for the {p} install automatically at night when the device is idle. To update now, open the device in the Brightline app, "
            f"tap Settings, then Firmware, then Update. Keep the device powered during the update; it takes up to 10 minutes. If an update fails twice, "
            f"restart the device and try again, or contact support with the error code shown.")

def ans_return(p, f):
    return (f"You can return the {p} within 30 days of delivery for a full refund, even if you opened it. Start the return under Orders on brightline.example "
            f"to get a free return label. The refund goes to your original payment method within 5 working days after we receive the parcel.")

def ans_setup(p, f):
    if p == "Brightline app":
        return "Download the Brightline app from the App Store or Google Play, create an account with your e-mail address, then tap Add device to set up your first product."
    hub = " Make sure your Brightline Hub is set up first." if "through the Brightline Hub" in f["connect"] and "Bluetooth" not in f["connect"] else ""
    return (f"To set up the {p}: install it, open the Brightline app, tap Add device and scan the QR code on the device or its box, "
            f"then follow the steps in the app.{hub} Setup usually takes about five minutes.")

def ans_measures(p, f):
    return f"The {p} measures {f['measures']}. Readings update every minute and you can set alerts for each value in the app."

def ans_share(p, f):
    return ("Open the Brightline app, tap Home, then Members, then Invite. The person you invite gets an e-mail and can control all devices in your home. "
            f"You decide whether they can also change settings. {f['limit'][0].upper() + f['limit'][1:]}." if p == "Brightline app" else "")

def ans_what(p, f):
    return f"The {p} is a {f['kind']} from Brightline Home. It connects over {f['connect']} and works with {f['compat']}. It costs {f['price']}."

TOPICS = {
    "price": (["How much does the {p} cost?", "what's the price of the {p}", "{p} price?", "Could you tell me the price of the {p}?",
               "how much is a {p}", "Is the {p} expensive? What does it cost?", "price for {p} pls", "Whats the cost of the {p}?"],
              ans_price, lambda f: f["price"] is not None),
    "warranty": (["What is the warranty on the {p}?", "how long is the {p} guaranteed", "Does the {p} have a warranty?",
                  "{p} warranty period?", "My {p} broke after 8 months, is that covered?", "How many years warranty do I get with the {p}?",
                  "warrenty on the {p}?"],
                 ans_warranty, lambda f: f["warranty"] is not None),
    "reset": (["How do I factory reset the {p}?", "how to reset {p}", "The {p} is stuck, how can I reset it?", "Reset steps for the {p}?",
               "I want to give my {p} away, how do I wipe it?", "factory reset {p}", "What's the reset procedure for the {p}?", "how do i reset my {p}??"],
              ans_reset, lambda f: f["reset"] is not None),
    "compatibility": (["Does the {p} work with Alexa?", "Is the {p} compatible with Google Home?", "Can I use the {p} with Apple Home?",
                       "Which voice assistants support the {p}?", "does {p} work with homekit", "{p} compatibility?", "Will the {p} work with my Echo?"],
                      ans_compat, lambda f: f["compat"] is not None),
    "connection": (["How does the {p} connect?", "Does the {p} need a hub?", "What does the {p} connect to?", "does the {p} need wifi",
                    "Which wireless standard does the {p} use?", "What are the requirements for the {p}?"],
                   ans_connect, lambda f: f["connect"] is not None),
    "wifi_5ghz": (["Does the {p} work on 5 GHz Wi-Fi?", "my router is 5ghz only, will the {p} work?", "Can the {p} connect to a 5 GHz network?",
                   "{p} and 5 GHz?", "The {p} can't find my wifi, is it because of 5 GHz?"],
                  ans_5ghz, lambda f: f["outdoor"] is not None and f["kind"] != "app"),
    "outdoor": (["Can I use the {p} outside?", "Is the {p} waterproof?", "is the {p} ok for the garden", "Will the {p} survive rain?",
                 "{p} outdoor use?", "Can the {p} go in the bathroom or outside?"],
                ans_outdoor, lambda f: f["outdoor"] is not None),
    "power": (["How is the {p} powered?", "What power does the {p} need?", "{p} power supply?", "Does the {p} need to be wired in?",
               "how much power does the {p} use"],
              ans_power, lambda f: f["power"] is not None),
    "battery": (["How long does the battery of the {p} last?", "{p} battery life?", "How often do I need to charge the {p}?",
                 "the battery on my {p} drains fast, how long should it last?", "What's the battery life of the {p}?"],
                ans_battery, lambda f: f["battery"] is not None),
    "subscription": (["Do I need a subscription for the {p}?", "Is Brightline Plus required for the {p}?", "{p} monthly fees?",
                      "Are there running costs for the {p}?", "what do i get with plus for the {p}", "Does the {p} work without paying monthly?"],
                     ans_sub, lambda f: f["sub"] is not None),
    "limits": (["How many {p} devices can I have?", "Is there a limit for the {p}?", "{p} maximum number?", "How many can I connect with the {p}?"],
               ans_limit, lambda f: f["limit"] is not None),
    "offline": (["My {p} shows offline, what should I do?", "{p} keeps disconnecting", "Why is my {p} offline?", "{p} not responding in the app",
                 "The app says my {p} is unavailable.", "my {p} lost connection again!!", "How do I fix a {p} that is offline?"],
                ans_offline, lambda f: f["kind"] != "app"),
    "firmware": (["How do I update the firmware of the {p}?", "{p} firmware update?", "The {p} update keeps failing, what now?",
                  "Does the {p} update itself?", "how to get the latest software on the {p}"],
                 ans_firmware, lambda f: f["kind"] != "app"),
    "returns": (["Can I return the {p}?", "How do I send back my {p}?", "{p} return policy?", "I don't like the {p}, can I get my money back?",
                 "What is the return window for the {p}?", "refund for the {p}?"],
                ans_return, lambda f: f["kind"] != "app"),
    "setup": (["How do I set up the {p}?", "{p} installation steps?", "Getting started with the {p}?", "how to install {p}",
               "I just bought a {p}, what now?", "How long does the {p} setup take?"],
              ans_setup, lambda f: True),
    "measures": (["What does the {p} measure?", "Does the {p} measure humidity?", "Can the {p} detect CO2?", "{p} sensors?",
                  "Which values does the {p} show?"],
                 ans_measures, lambda f: f.get("measures") is not None),
    "sharing": (["How do I share my home with family in the {p}?", "Can my partner control the devices too?", "How do I invite someone to my home?",
                 "family access in the {p}?", "How many people can use one home?"],
                ans_share, lambda f: f["kind"] == "app"),
    "overview": (["What is the {p}?", "Tell me about the {p}.", "{p}?", "What can the {p} do?", "Give me a short description of the {p}."],
                 ans_what, lambda f: f["kind"] != "app"),
}

INPUTS = {
    "": 5,
    "I bought it last month from your online shop.": 1,
    "I have the first generation model.": 1,
    "We live in a two-storey house.": 1,
    "I am using an iPhone.": 1,
    "My router is from my internet provider.": 1,
    "It is a gift for my father.": 1,
    "I am not very technical.": 1,
}
# short names people use (only where they are unambiguous)
ALIAS = {"Thermo One thermostat": "Thermo One", "Doorly doorbell": "Doorly", "Brightline Hub": "Hub",
         "Aero air sensor": "Aero sensor", "SafePlug smart plug": "SafePlug", "Brightline app": "app"}
STYLE_PREFIX = ["", "", "", "Hi, ", "Hello! ", "Quick question: ", "Hey, ", "Sorry to bother you, "]


def main():
    rows = []
    seen = set()
    i = 0
    for p, f in PRODUCTS.items():
        for topic, (questions, builder, applies) in TOPICS.items():
            if not applies(f):
                continue
            answer = builder(p, f)
            if not answer:
                continue
            for q in questions:
                variants = [(q, "")]
                # a few more variants with a prefix or a detail in `input`
                for _ in range(3):
                    inp = r.choices(list(INPUTS), list(INPUTS.values()))[0]
                    variants.append((r.choice(STYLE_PREFIX) + q[0].lower() + q[1:] if r.random() < 0.5 else q, inp))
                for qq, inp in variants:
                    text = qq.replace("{p}", p if r.random() < 0.8 else ALIAS.get(p, p))
                    key = (text, inp)
                    if key in seen:
                        continue
                    seen.add(key)
                    resp = answer
                    if inp and r.random() < 0.5:
                        resp = "Thanks for the detail. " + resp
                    i += 1
                    rows.append({"id": i, "product": p, "topic": topic, "instruction": text, "input": inp, "response": resp})
    r.shuffle(rows)
    for k, row in enumerate(rows):
        row["id"] = k + 1
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}: {len(rows)} pairs, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
