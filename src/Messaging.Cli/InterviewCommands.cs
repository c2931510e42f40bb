using System.Globalization;
using System.Text;
using Messaging.Client;
using Messaging.Contracts;

namespace Messaging.Cli;

/// <summary>Tripartite interviews (issue 13): availability, slot search, invitations, answers, changes, outcomes, and the
/// person's invitation written on this device to a folder the worker chooses (it never reaches the server).</summary>
internal sealed partial class CliApp
{
    private const string InterviewUsage = """
          interviews                             interviews I organise or am invited to
          interview availability                 my working hours, absences, whether a feed is set
          interview set-availability --hours mon=09:00-12:00+13:00-17:00,tue=09:00-17:00,…
                [--absences 2031-04-01T00:00Z/2031-04-03T00:00Z,…] [--feed https://…]   (the feed URL stays secret)
          interview slots --case REF --with ID[,ID] --minutes N [--count N] [--buffer MIN]
          interview invite --case REF --with ID,ID[,…] [--person] --start 2031-04-02T10:00+02:00 --minutes N
                (--address TEXT | --video https://…)
          interview answer --interview ID (--accept | --decline | --tentative | --propose START)
          interview reschedule --interview ID --start START --minutes N (--address TEXT | --video URL)
          interview cancel --interview ID
          interview outcome --interview ID (--held [--attendance present|justified-absence|no-show] | --not-held)
          interview person-invitation --interview ID --out DIR [--name NAME]
                                                 the person's .ics, text and mailto, made here only
        """;

    private static readonly Dictionary<string, DayOfWeek> Weekdays = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mon"] = DayOfWeek.Monday, ["tue"] = DayOfWeek.Tuesday, ["wed"] = DayOfWeek.Wednesday, ["thu"] = DayOfWeek.Thursday,
        ["fri"] = DayOfWeek.Friday, ["sat"] = DayOfWeek.Saturday, ["sun"] = DayOfWeek.Sunday,
    };

    /// <summary><c>interviews</c> and <c>interview …</c>; null when <c>args[0]</c> is neither.</summary>
    private async Task<int?> InterviewCommandAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        var interviews = client.Interviews;
        switch (args[0], args.ElementAtOrDefault(1))
        {
            case ("interviews", _):
                foreach (var entry in await interviews.ListAsync(cancellationToken))
                {
                    await WriteInterviewAsync(entry);
                }

                return 0;
            case ("interview", "availability"):
                var mine = await interviews.GetAvailabilityAsync(cancellationToken);
                foreach (var period in mine.WorkingHours.OrderBy(p => p.Day).ThenBy(p => p.From))
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{period.Day} {period.From:HH\\:mm}-{period.To:HH\\:mm}"));
                }

                foreach (var absence in mine.Absences)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"absent {absence.From:O} – {absence.To:O}"));
                }

                await output.WriteLineAsync(mine.HasFeed ? "external feed: set" : "external feed: none");
                return 0;
            case ("interview", "set-availability"):
                var set = await interviews.SetAvailabilityAsync(Hours(options.Required("hours")), Absences(options.Optional("absences")),
                    options.Optional("feed") is { } feed ? HttpsUrl("feed", feed) : null, cancellationToken);
                await output.WriteLineAsync($"availability set: {set.WorkingHours.Count} period(s), {set.Absences.Count} absence(s), feed {(set.HasFeed ? "set" : "none")}");
                return 0;
            case ("interview", "slots"):
                var found = await interviews.FindSlotsAsync(new FindInterviewSlotsRequest(options.Required("case"), options.GuidList("with"),
                    options.OptionalInt("minutes") ?? throw new UsageException("--minutes is required"), options.OptionalInt("count") ?? 5,
                    options.OptionalInt("buffer") ?? 0), cancellationToken);
                foreach (var slot in found.Slots)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{slot.Start:O} – {slot.End:O}"));
                }

                foreach (var problem in found.FeedProblems)
                {
                    await output.WriteLineAsync($"feed of {problem.MemberId} left out ({problem.Kind}): {problem.Message}");
                }

                if (!found.Complete)
                {
                    await output.WriteLineAsync("incomplete: the slots are right for the calendars that could be read");
                }

                if (found.Slots.Count == 0)
                {
                    await output.WriteLineAsync($"nothing fits: {found.EmptyingConstraint}"
                        + string.Concat(found.NeverFree.Select(n => $"; {n.MemberId} is never free ({n.Constraint})")));
                }

                return 0;
            case ("interview", "invite"):
                var (address, video) = Place(options);
                var invited = await interviews.InviteAsync(new ProposeInterviewRequest(Guid.NewGuid(), options.Required("case"), options.GuidList("with"),
                    options.Flag("person"), Instant(options, "start"), Minutes(options), address, video), cancellationToken);
                await WriteInterviewAsync(invited);
                if (options.Flag("person"))
                {
                    await output.WriteLineAsync($"the person's invitation: messaging interview person-invitation --interview {invited.InterviewId} --out DIR");
                }

                return 0;
            case ("interview", "answer"):
                var (answer, proposed) = options.Flag("accept") ? (InterviewAnswer.Accepted, (DateTimeOffset?)null)
                    : options.Flag("decline") ? (InterviewAnswer.Declined, null)
                    : options.Flag("tentative") ? (InterviewAnswer.Tentative, null)
                    : options.Optional("propose") is not null ? (InterviewAnswer.ProposedAnotherTime, Instant(options, "propose"))
                    : throw new UsageException("answer with --accept, --decline, --tentative or --propose START");
                await WriteInterviewAsync(await interviews.AnswerAsync(options.RequiredGuid("interview"), answer, proposed, cancellationToken));
                return 0;
            case ("interview", "reschedule"):
                var (newAddress, newVideo) = Place(options);
                await WriteInterviewAsync(await interviews.RescheduleAsync(new RescheduleInterviewRequest(options.RequiredGuid("interview"),
                    Instant(options, "start"), Minutes(options), newAddress, newVideo), cancellationToken));
                return 0;
            case ("interview", "cancel"):
                await WriteInterviewAsync(await interviews.CancelAsync(options.RequiredGuid("interview"), cancellationToken));
                return 0;
            case ("interview", "outcome"):
                if (options.Flag("held") == options.Flag("not-held"))
                {
                    throw new UsageException("outcome takes --held or --not-held");
                }

                var attendance = Choice(options, "attendance", ["present", "justified-absence", "no-show"]) switch
                {
                    "present" => PersonAttendance.Present,
                    "justified-absence" => PersonAttendance.JustifiedAbsence,
                    "no-show" => PersonAttendance.NoShow,
                    _ => (PersonAttendance?)null,
                };
                var outcome = await client.RecordInterviewOutcomeAsync(options.RequiredGuid("interview"), options.Flag("held"), attendance, cancellationToken);
                await WriteInterviewAsync(outcome.Interview);
                if (outcome.Notice is { } notice)
                {
                    await output.WriteLineAsync($"  no-show notice {notice.Notice.NoticeId} signed and sent to {notice.Receipt.Recipients} device(s) of the justice assistant");
                }
                else if (outcome.NoticeAlreadySent)
                {
                    await output.WriteLineAsync("  the no-show notice for this interview was already sent");
                }

                return 0;
            case ("interview", "person-invitation"):
                return await PersonInvitationAsync(client, options, cancellationToken);
            case ("interview", _):
                throw new UsageException($"unknown interview subcommand '{args.ElementAtOrDefault(1)}'; run 'messaging help'");
            default:
                return null;
        }
    }

    /// <summary>Writes the person's .ics, the ready-to-send text and the mailto link into a folder of the worker's
    /// choosing. The person's name (optional, for the greeting) and address stay on this device.</summary>
    private async Task<int> PersonInvitationAsync(MessagingClient client, Options options, CancellationToken cancellationToken)
    {
        var id = options.RequiredGuid("interview");
        var entry = (await client.Interviews.ListAsync(cancellationToken)).FirstOrDefault(i => i.InterviewId == id)
            ?? throw new UsageException($"no interview {id} among mine");
        var files = client.Interviews.PersonInvitation(entry, options.Optional("name"));
        var folder = options.Required("out");
        Directory.CreateDirectory(folder);
        await WriteOwnerOnlyAsync(Path.Combine(folder, files.IcsFileName), files.Ics, cancellationToken);
        await WriteOwnerOnlyAsync(Path.Combine(folder, "message.txt"), files.Text, cancellationToken);
        await WriteOwnerOnlyAsync(Path.Combine(folder, "mailto.txt"), files.MailTo.AbsoluteUri + "\n", cancellationToken);
        await output.WriteLineAsync($"written to {folder}: {files.IcsFileName}, message.txt, mailto.txt (attach the .ics; add the person's address in your mail program)");
        return 0;
    }

    /// <summary>Writes a file only its owner reads (0600: it may name the person), replacing any earlier one of the same
    /// name, which may have been readable by others, rather than writing into it.</summary>
    private static async Task WriteOwnerOnlyAsync(string path, string text, CancellationToken cancellationToken)
    {
        File.Delete(path);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var file = new FileStream(path, create);
        await using var writer = new StreamWriter(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        await writer.WriteAsync(text.AsMemory(), cancellationToken);
    }

    private async Task WriteInterviewAsync(InterviewEntry entry)
    {
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"interview {entry.InterviewId}  case {entry.CaseReference}  {entry.State}  {entry.Start:O} ({entry.DurationMinutes} min)  sequence {entry.Sequence}  {entry.Place}"));
        foreach (var p in entry.Participants)
        {
            var delivery = p.Delivery == InterviewDeliveryState.PermanentFailure
                ? string.Create(CultureInfo.InvariantCulture, $"  EMAIL REFUSED ({p.DeliveryReplyCode}): reach them another way")
                : string.Empty;
            await output.WriteLineAsync(p.Role == InterviewParticipantRole.Person
                ? "  the person (invitation made on the organiser's device)"
                : string.Create(CultureInfo.InvariantCulture, $"  {p.MemberId} [{p.Role}] {p.Answer}{(p.ProposedStart is { } s ? $" proposes {s:O}" : "")}{delivery}"));
        }

        if (entry.OrganiserDelivery == InterviewDeliveryState.PermanentFailure)
        {
            await output.WriteLineAsync("  your own copy was refused by the mail server");
        }

        if (entry.Held is { } held)
        {
            await output.WriteLineAsync($"  outcome: {(held ? "held" : "not held")}{(entry.Attendance is { } a ? $", person {a}" : "")}");
        }
    }

    private static List<WorkingPeriodEntry> Hours(string text)
    {
        var periods = new List<WorkingPeriodEntry>();
        foreach (var day in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = day.Split('=', 2);
            if (parts.Length != 2 || !Weekdays.TryGetValue(parts[0], out var weekday))
            {
                throw new UsageException($"--hours: '{day}' is not day=HH:mm-HH:mm[+HH:mm-HH:mm] (days mon…sun)");
            }

            foreach (var range in parts[1].Split('+'))
            {
                var bounds = range.Split('-');
                if (bounds.Length != 2 || !TimeOnly.TryParseExact(bounds[0], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
                    || !TimeOnly.TryParseExact(bounds[1], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to))
                {
                    throw new UsageException($"--hours: '{range}' is not HH:mm-HH:mm");
                }

                periods.Add(new WorkingPeriodEntry(weekday, from, to));
            }
        }

        return periods;
    }

    private static IReadOnlyList<AbsenceEntry> Absences(string? text) => text is null
        ? []
        : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a =>
        {
            var bounds = a.Split('/');
            return bounds.Length == 2 && DateTimeOffset.TryParse(bounds[0], CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
                && DateTimeOffset.TryParse(bounds[1], CultureInfo.InvariantCulture, DateTimeStyles.None, out var to)
                ? new AbsenceEntry(from, to)
                : throw new UsageException($"--absences: '{a}' is not FROM/TO (ISO 8601 with an offset)");
        })];

    private static DateTimeOffset Instant(Options options, string name)
        => DateTimeOffset.TryParse(options.Required(name), CultureInfo.InvariantCulture, DateTimeStyles.None, out var value)
            ? value
            : throw new UsageException($"--{name} takes an ISO 8601 date and time with its offset (2031-04-02T10:00+02:00)");

    private static int Minutes(Options options) => options.OptionalInt("minutes") ?? throw new UsageException("--minutes is required");

    private static (string? Address, Uri? Video) Place(Options options) => (options.Optional("address"), options.Optional("video")) switch
    {
        ({ } address, null) => (address, null),
        (null, { } video) => (null, HttpsUrl("video", video)),
        _ => throw new UsageException("give --address TEXT or --video https://…"),
    };

    private static Uri HttpsUrl(string name, string value) => Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
        ? url
        : throw new UsageException($"--{name} takes an https URL");
}
