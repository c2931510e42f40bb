// Reads one iCalendar object on stdin with ical.js (an independent parser) and prints what the tests check as JSON.
// Times are computed by ical.js from the object's own VTIMEZONE rules, not from a system zone database.
import ICAL from 'ical.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;

const root = new ICAL.Component(ICAL.parse(text));
const zones = root.getAllSubcomponents('vtimezone').map((vtz) => {
  ICAL.TimezoneService.register(vtz);
  return {
    tzid: vtz.getFirstPropertyValue('tzid'),
    standard: vtz.getAllSubcomponents('standard').length,
    daylight: vtz.getAllSubcomponents('daylight').length,
  };
});
const events = root.getAllSubcomponents('vevent').map((c) => {
  const e = new ICAL.Event(c);
  return {
    uid: e.uid,
    sequence: e.sequence,
    summary: e.summary,
    location: e.location,
    status: c.getFirstPropertyValue('status'),
    dtstamp: c.getFirstPropertyValue('dtstamp')?.toString(),
    startTzid: e.startDate.timezone ?? e.startDate.zone?.tzid,
    startLocal: e.startDate.toString(),
    startUtc: e.startDate.toUnixTime(),
    endUtc: e.endDate.toUnixTime(),
    organizer: c.getFirstPropertyValue('organizer'),
    attendees: c.getAllProperties('attendee').map((p) => ({
      value: p.getFirstValue(),
      role: p.getParameter('role'),
      partstat: p.getParameter('partstat'),
      rsvp: p.getParameter('rsvp'),
    })),
  };
});
process.stdout.write(JSON.stringify({ method: root.getFirstPropertyValue('method'), zones, events }));
