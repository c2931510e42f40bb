using System.Text;
using System.Text.RegularExpressions;
using Messaging.Client.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Tests;

/// <summary>Tripartite interviews through the command line against the real server process (embedded default: the
/// invitations go to its pickup folder), and the person's invitation made on the organiser's device only.</summary>
public sealed partial class InterviewCliTests
{
    private const string PersonName = "Jeanne Canaryperson";

    [Fact]
    public async Task AWorker_SetsAvailability_FindsSlots_Invites_AndWritesThePersonsInvitationOnItsOwnDevice()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("CAPREV");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("AMO Liège");
        var organiser = platform.NewStorePath();
        var receiver = platform.NewStorePath();
        Assert.Equal(0, (await CliRunner.RunAsync(organiser, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline")))).ExitCode);
        var bruno = await platform.CreateMemberAsync(adminY, "Bruno");
        Assert.Equal(0, (await CliRunner.RunAsync(receiver, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminY, bruno))).ExitCode);
        var colleague = await platform.CreateMemberAsync(adminY, "Chloé");

        var refer = await CliRunner.RunAsync(organiser, "refer", "--to", serviceY.ToString(), "--nature", "individual", "--requester", "relative",
            "--commune", "62063", "--reason", "information-or-concern", "--urgency", "normal", "--follow-up-ongoing");
        Assert.True(refer.ExitCode == 0, refer.Error);
        var caseReference = CaseLine().Match(refer.Output).Groups[1].Value;
        var tripartite = await CliRunner.RunAsync(receiver, "respond", "--case", caseReference, "--tripartite");
        Assert.True(tripartite.ExitCode == 0, tripartite.Error);

        var set = await CliRunner.RunAsync(organiser, "interview", "set-availability", "--hours", "mon=09:00-12:00+13:00-17:00,tue=09:00-17:00",
            "--feed", "https://calendar.example/private/token-77/basic.ics");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Equal("availability set: 3 period(s), 0 absence(s), feed set\n", set.Output.ReplaceLineEndings("\n"));
        var shown = await CliRunner.RunAsync(organiser, "interview", "availability");
        Assert.Contains("Monday 13:00-17:00", shown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("token-77", shown.Output, StringComparison.Ordinal);
        Assert.Equal(2, (await CliRunner.RunAsync(organiser, "interview", "set-availability", "--hours", "mon=9h-12h")).ExitCode);

        // Nobody else set hours: nothing fits, and the search says who is never free.
        var slots = await CliRunner.RunAsync(organiser, "interview", "slots", "--case", caseReference, "--with", bruno.ToString(), "--minutes", "60");
        Assert.True(slots.ExitCode == 0, slots.Error);
        Assert.Contains($"{bruno} is never free (WorkingHours)", slots.Output, StringComparison.Ordinal);

        var start = TimeProvider.System.GetUtcNow().AddDays(10);
        var startText = start.ToString("yyyy-MM-ddT10:00:00+00:00", System.Globalization.CultureInfo.InvariantCulture);
        var invite = await CliRunner.RunAsync(organiser, "interview", "invite", "--case", caseReference, "--with", $"{bruno},{colleague}", "--person",
            "--start", startText, "--minutes", "60", "--address", "Rue de la Loi 16, 1000 Bruxelles");
        Assert.True(invite.ExitCode == 0, invite.Error);
        var interviewId = InterviewLine().Match(invite.Output).Groups[1].Value;
        Assert.Contains("Proposed", invite.Output, StringComparison.Ordinal);
        Assert.Contains("the person (invitation made on the organiser's device)", invite.Output, StringComparison.Ordinal);

        var answer = await CliRunner.RunAsync(receiver, "interview", "answer", "--interview", interviewId, "--accept");
        Assert.True(answer.ExitCode == 0, answer.Error);
        Assert.Contains($"{bruno} [Worker] Accepted", answer.Output, StringComparison.Ordinal);
        Assert.Contains(interviewId, (await CliRunner.RunAsync(receiver, "interviews")).Output, StringComparison.Ordinal);
        var notOrganiser = await CliRunner.RunAsync(receiver, "interview", "cancel", "--interview", interviewId);
        Assert.Equal(1, notOrganiser.ExitCode);
        Assert.StartsWith("error: interview.not-organiser: ", notOrganiser.Error, StringComparison.Ordinal);

        var moved = await CliRunner.RunAsync(organiser, "interview", "reschedule", "--interview", interviewId, "--start", startText.Replace("T10:", "T14:", StringComparison.Ordinal),
            "--minutes", "90", "--address", "Rue de la Loi 16, 1000 Bruxelles");
        Assert.True(moved.ExitCode == 0, moved.Error);
        Assert.Contains("Rescheduled", moved.Output, StringComparison.Ordinal);
        Assert.Contains("sequence 1", moved.Output, StringComparison.Ordinal);

        // The person's invitation: written on this device, the person's name in the text only.
        var folder = Path.Combine(Path.GetDirectoryName(organiser)!, "for-the-person-" + interviewId);
        // The name from a file, not the command line (which shell history and other users' process lists show); a file
        // of the same name left by an earlier run, readable by others, is replaced by one only the worker reads.
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "message.txt"), "older");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(Path.Combine(folder, "message.txt"), (UnixFileMode)0b110_100_100);
        }

        var nameFile = Path.Combine(Path.GetDirectoryName(organiser)!, "person-name.txt");
        await File.WriteAllTextAsync(nameFile, PersonName + "\n");
        var person = await CliRunner.RunAsync(organiser, "interview", "person-invitation", "--interview", interviewId, "--out", folder, "--name-file", nameFile);
        Assert.True(person.ExitCode == 0, person.Error);
        foreach (var file in new[] { "entretien.ics", "message.txt", "mailto.txt" })
        {
            Assert.True(OperatingSystem.IsLinux() && File.GetUnixFileMode(Path.Combine(folder, file)) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), file);
        }

        var ics = await File.ReadAllTextAsync(Path.Combine(folder, "entretien.ics"));
        Assert.Contains("METHOD:PUBLISH", ics, StringComparison.Ordinal);
        Assert.Contains("SEQUENCE:1", ics, StringComparison.Ordinal);
        Assert.DoesNotContain("ATTENDEE", ics, StringComparison.Ordinal);
        Assert.StartsWith($"Bonjour {PersonName},", await File.ReadAllTextAsync(Path.Combine(folder, "message.txt")), StringComparison.Ordinal);
        Assert.StartsWith("mailto:?subject=", await File.ReadAllTextAsync(Path.Combine(folder, "mailto.txt")), StringComparison.Ordinal);

        var cancel = await CliRunner.RunAsync(organiser, "interview", "cancel", "--interview", interviewId);
        Assert.True(cancel.ExitCode == 0, cancel.Error);
        Assert.Contains("Cancelled", cancel.Output, StringComparison.Ordinal);

        // The server's side: invitations, updates and cancellations in the pickup folder (three recipients each), and
        // neither the person's name nor the feed's secret anywhere it writes.
        var pickup = Path.Combine(platform.Server.DataDirectory, "interviews", "pickup");
        await WaitForAsync(() => Directory.Exists(pickup) && Directory.GetFiles(pickup, "*.eml").Length == 9);
        SqliteConnection.ClearAllPools();
        var written = string.Concat(Directory.GetFiles(platform.Server.DataDirectory, "*", SearchOption.AllDirectories).Select(ReadShared)) + platform.Server.Logs;
        Assert.DoesNotContain("Canaryperson", written, StringComparison.Ordinal);
        Assert.DoesNotContain("token-77", platform.Server.Logs, StringComparison.Ordinal);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "timed out waiting for the pickup folder");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex("^case ([A-Z2-7]{26})$", RegexOptions.Multiline)]
    private static partial Regex CaseLine();

    [GeneratedRegex("^interview ([0-9a-f-]{36}) ", RegexOptions.Multiline)]
    private static partial Regex InterviewLine();
}
