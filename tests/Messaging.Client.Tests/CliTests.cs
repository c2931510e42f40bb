using System.Text.RegularExpressions;
using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

/// <summary>The CLI run in-process against the real server: one server for the class, each test with its own services
/// and devices, except the referral flow, which hands the operator's device over to the CLI.</summary>
public sealed partial class CliTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    [Fact]
    public async Task AWorker_EnrolsWithTheCli_SendsAndReadsTheReply()
    {
        var platform = shared.Platform;
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Namur");
        var (_, adminY) = await platform.CreateOrganisationAsync("Ville de Charleroi");
        var cliMember = await platform.CreateMemberAsync(adminX, "Camille");
        var peerMember = await platform.CreateMemberAsync(adminY, "Dario");
        var peer = await platform.EnrolDeviceAsync(adminY, peerMember);
        var store = platform.NewStorePath();

        var enrol = await CliRunner.RunAsync(store, "enrol", "--server", platform.Server.Url.ToString(), "--code", await platform.IssueCodeAsync(adminX, cliMember));
        Assert.True(enrol.ExitCode == 0, enrol.Error);
        var whoami = await CliRunner.RunAsync(store, "whoami");
        Assert.Contains($"member {cliMember}", whoami.Output, StringComparison.Ordinal);

        var created = await CliRunner.RunAsync(store, "conversations", "create", "--with", peerMember.ToString());
        Assert.True(created.ExitCode == 0, created.Error);
        var conversation = ConversationId().Match(created.Output).Groups[1].Value;

        // The text from a file (one final line break dropped), never on the command line.
        var textFile = Path.Combine(Path.GetDirectoryName(store)!, "message.txt");
        await File.WriteAllTextAsync(textFile, "Rendez-vous mardi ?\n");
        var send = await CliRunner.RunAsync(store, "send", "--conversation", conversation, "--text-file", textFile);
        Assert.True(send.ExitCode == 0, send.Error);
        Assert.Equal("Rendez-vous mardi ?", (await peer.NextAsync()).Text);

        // What another member wrote is printed on its own line: a line break, a carriage return or an escape sequence in
        // it cannot forge a line that seems to come from someone else.
        await peer.SendTextAsync(Guid.Parse(conversation), "Oui, 10 h.\r\n[2026-01-01 00:00:00Z] forged \u001b[2Kline");
        var inbox = await CliRunner.RunAsync(store, "inbox");
        Assert.Contains("Oui, 10 h.\uFFFD⏎[2026-01-01 00:00:00Z] forged \uFFFD[2Kline", inbox.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(inbox.Output.ReplaceLineEndings("\n").Split('\n'), line => line.StartsWith("[2026-01-01", StringComparison.Ordinal));

        var safety = await CliRunner.RunAsync(store, "safety-number", "--member", peerMember.ToString());
        var peerSide = await peer.GetSafetyNumbersAsync(cliMember);
        Assert.Contains(peerSide.Single().SafetyNumber, safety.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enrol_WithABareFileNameAsStore_CreatesItInTheCurrentDirectory()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Molenbeek");
        var member = await platform.CreateMemberAsync(admin, "Inès");
        var directory = Path.GetDirectoryName(platform.NewStorePath())!;
        Directory.CreateDirectory(directory);
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = directory;
        try
        {
            var enrol = await CliRunner.RunAsync("ignored.mks", "enrol", "--store", "op.mks", "--server", platform.Server.Url.ToString(), "--code", await platform.IssueCodeAsync(admin, member));
            Assert.True(enrol.ExitCode == 0, enrol.Error);
            Assert.True(File.Exists(Path.Combine(directory, "op.mks")));
            var whoami = await CliRunner.RunAsync("ignored.mks", "whoami", "--store", "op.mks");
            Assert.Contains($"member {member}", whoami.Output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    [Fact]
    public async Task TheCli_ReportsRefusalsAndBadUsage_WithoutACrash()
    {
        var platform = shared.Platform;
        var store = platform.NewStorePath();
        var badCode = await CliRunner.RunAsync(store, "enrol", "--server", platform.Server.Url.ToString(), "--code", "NOT-A-CODE");
        Assert.Equal(1, badCode.ExitCode);
        Assert.StartsWith("error: ", badCode.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(store));
        // Plain http to another machine would carry the code in clear: the SDK's sentence, nothing created.
        var inClear = await CliRunner.RunAsync(store, "enrol", "--server", "http://messaging.example.be/", "--code", "ABCD-EFGH");
        Assert.Equal(1, inClear.ExitCode);
        Assert.Contains("error: The server address http://messaging.example.be is refused: use https", inClear.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(store));

        var missing = await CliRunner.RunAsync(store, "send", "--text", "x");
        Assert.NotEqual(0, missing.ExitCode);
        var textFile = Path.Combine(Path.GetDirectoryName(store)!, $"text-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(textFile, "x");
        var twice = await CliRunner.RunAsync(store, "send", "--conversation", Guid.NewGuid().ToString(), "--text", "x", "--text-file", textFile);
        Assert.Equal((2, true), (twice.ExitCode, twice.Error.Contains("--text is given twice", StringComparison.Ordinal)));
        var noFile = await CliRunner.RunAsync(store, "send", "--conversation", Guid.NewGuid().ToString(), "--text-file", textFile + ".missing");
        Assert.Equal((2, true), (noFile.ExitCode, noFile.Error.Contains("--text-file: cannot read", StringComparison.Ordinal)));
        Assert.Equal(2, (await CliRunner.RunAsync(store)).ExitCode);
    }

    [Fact]
    public async Task TheCli_RunsTheWholeReferralFlow_FromOrientationToTheCommitteeReport()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Liège");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("AMO Liège");
        var referrer = platform.NewStorePath();
        var receiver = platform.NewStorePath();
        Assert.Equal(0, (await CliRunner.RunAsync(referrer, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline")))).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(receiver, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno")))).ExitCode);

        var orient = await CliRunner.RunAsync(referrer, "orient", "--commune", "62063");
        Assert.True(orient.ExitCode == 0, orient.Error);
        Assert.StartsWith("62063 Liège (wallonia)", orient.Output, StringComparison.Ordinal);

        // A field outside the schema never leaves the device.
        string[] referral = ["refer", "--to", serviceY.ToString(), "--nature", "individual", "--requester", "relative", "--commune", "62063",
            "--reason", "information-or-concern", "--urgency", "normal"];
        var outside = await CliRunner.RunAsync(referrer, [.. referral, "--name", "Jean Dupont"]);
        Assert.Equal(2, outside.ExitCode);
        Assert.Contains("--name is not a field of a referral", outside.Error, StringComparison.Ordinal);
        Assert.Equal("", (await CliRunner.RunAsync(referrer, "referrals")).Output);

        var refer = await CliRunner.RunAsync(referrer, referral);
        Assert.True(refer.ExitCode == 0, refer.Error);
        var caseReference = CaseLine().Match(refer.Output).Groups[1].Value;

        var seen = await CliRunner.RunAsync(receiver, "case", "--case", caseReference);
        Assert.True(seen.ExitCode == 0, seen.Error);
        Assert.Contains("referral: individual, asked by relative, commune 62063, reason information-or-concern, urgency normal", seen.Output, StringComparison.Ordinal);
        var accept = await CliRunner.RunAsync(receiver, "respond", "--case", caseReference, "--accept");
        Assert.True(accept.ExitCode == 0, accept.Error);
        Assert.Equal($"referral {caseReference}: accepted\n", accept.Output.ReplaceLineEndings("\n"));

        var familyNameFile = Path.Combine(Path.GetDirectoryName(referrer)!, "family-name.txt");
        await File.WriteAllTextAsync(familyNameFile, "Dupont\r\n");
        var share = await CliRunner.RunAsync(referrer, "share-identity", "--case", caseReference, "--family-name-file", familyNameFile, "--given-names", "Jean",
            "--birth-date", "2004-05-06", "--phone", "+32 470 12 34 56");
        Assert.True(share.ExitCode == 0, share.Error);
        var until = TimeProvider.System.GetUtcNow().AddDays(60).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var consent = await CliRunner.RunAsync(referrer, "consent", "record", "--case", caseReference, "--for", serviceY.ToString(), "--until", until);
        Assert.True(consent.ExitCode == 0, consent.Error);
        var consentId = ConsentLine().Match(consent.Output).Groups[1].Value;
        var note = await CliRunner.RunAsync(referrer, "case-note", "--case", caseReference, "--consent", consentId, "--text", "Synthèse de l'entretien du 3 mars.");
        Assert.True(note.ExitCode == 0, note.Error);

        var view = await CliRunner.RunAsync(receiver, "case", "--case", caseReference);
        Assert.Contains("identity: Dupont, Jean, born 2004-05-06, +32 470 12 34 56", view.Output, StringComparison.Ordinal);
        Assert.Contains($"note (consent {consentId}): Synthèse de l'entretien du 3 mars.", view.Output, StringComparison.Ordinal);
        Assert.Contains($"{caseReference}  accepted", (await CliRunner.RunAsync(referrer, "referrals")).Output, StringComparison.Ordinal);
        Assert.Contains("answer: accept", (await CliRunner.RunAsync(referrer, "case", "--case", caseReference)).Output, StringComparison.Ordinal);

        var revoke = await CliRunner.RunAsync(referrer, "consent", "revoke", "--consent", consentId);
        Assert.Contains("revoked", revoke.Output, StringComparison.Ordinal);
        var refusedNote = await CliRunner.RunAsync(referrer, "case-note", "--case", caseReference, "--consent", consentId, "--text", "encore");
        Assert.Equal(1, refusedNote.ExitCode);
        Assert.StartsWith("error: consent.revoked", refusedNote.Error, StringComparison.Ordinal);

        var report = await CliRunner.RunAsync(await platform.ReleaseAsync(platform.Operator), "admin", "report", "--year",
            TimeProvider.System.GetUtcNow().Year.ToString(System.Globalization.CultureInfo.InvariantCulture), "--granularity", "year", "--format", "csv");
        Assert.True(report.ExitCode == 0, report.Error);
        Assert.StartsWith("period,partner_type,referrals_sent,accepted,declined,tripartite_proposed", report.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(caseReference, report.Output, StringComparison.Ordinal);
    }

    /// <summary>This process's devices keep their key stores below the production Argon2id floor
    /// (<see cref="Platform.ClientOptions"/>); <see cref="Platform.ReleaseAsync"/> seals a store again at the floor before
    /// the CLI gets it. One that reaches the CLI without that is refused as weakened, and left as it was.</summary>
    [Fact]
    public async Task AKeyStoreBelowTheArgon2idFloor_IsRefusedByTheCli_AsWeakened_AndLeftUnchanged()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Dinant");
        var device = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Eva"));
        var store = platform.StorePathOf(device);
        await device.DisposeAsync();
        var before = await File.ReadAllBytesAsync(store);

        var whoami = await CliRunner.RunAsync(store, "whoami");

        Assert.NotEqual(0, whoami.ExitCode);
        Assert.Contains("below the accepted minimum", whoami.Error, StringComparison.Ordinal);
        Assert.Contains("weakened", whoami.Error, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(store));
    }

    [GeneratedRegex("^case ([A-Z2-7]{26})$", RegexOptions.Multiline)]
    private static partial Regex CaseLine();

    [GeneratedRegex("^consent ([0-9a-f-]{36})", RegexOptions.Multiline)]
    private static partial Regex ConsentLine();

    [GeneratedRegex("conversation ([0-9a-f-]{36})")]
    private static partial Regex ConversationId();
}
