using System.Text.RegularExpressions;
using Messaging.Cli;
using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

public sealed partial class CliTests
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(Platform platform, string store, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var environment = new Dictionary<string, string?>
        {
            ["MESSAGING_PASSPHRASE"] = Platform.Passphrase,
            ["MESSAGING_STORE"] = store,
            ["MESSAGING_KEYSTORE_COST"] = "interactive",
        };
        var cli = new CliApp(output, error, () => throw new InvalidOperationException("no prompt in tests"), name => environment.GetValueOrDefault(name));
        var exitCode = await cli.RunAsync(args);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task AWorker_EnrolsWithTheCli_SendsAndReadsTheReply()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Namur");
        var (_, adminY) = await platform.CreateOrganisationAsync("Ville de Charleroi");
        var cliMember = await platform.CreateMemberAsync(adminX, "Camille");
        var peerMember = await platform.CreateMemberAsync(adminY, "Dario");
        var peer = await platform.EnrolDeviceAsync(adminY, peerMember);
        var store = platform.NewStorePath();

        var enrol = await RunAsync(platform, store, "enrol", "--server", platform.Server.Url.ToString(), "--code", await platform.IssueCodeAsync(adminX, cliMember));
        Assert.True(enrol.ExitCode == 0, enrol.Error);
        var whoami = await RunAsync(platform, store, "whoami");
        Assert.Contains($"member {cliMember}", whoami.Output, StringComparison.Ordinal);

        var created = await RunAsync(platform, store, "conversations", "create", "--with", peerMember.ToString());
        Assert.True(created.ExitCode == 0, created.Error);
        var conversation = ConversationId().Match(created.Output).Groups[1].Value;

        var send = await RunAsync(platform, store, "send", "--conversation", conversation, "--text", "Rendez-vous mardi ?");
        Assert.True(send.ExitCode == 0, send.Error);
        Assert.Equal("Rendez-vous mardi ?", (await peer.NextAsync()).Text);

        await peer.SendTextAsync(Guid.Parse(conversation), "Oui, 10 h.");
        var inbox = await RunAsync(platform, store, "inbox");
        Assert.Contains("Oui, 10 h.", inbox.Output, StringComparison.Ordinal);

        var safety = await RunAsync(platform, store, "safety-number", "--member", peerMember.ToString());
        var peerSide = await peer.GetSafetyNumbersAsync(cliMember);
        Assert.Contains(peerSide.Single().SafetyNumber, safety.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCli_ReportsRefusalsAndBadUsage_WithoutACrash()
    {
        await using var platform = await Platform.StartAsync();
        var store = platform.NewStorePath();
        var badCode = await RunAsync(platform, store, "enrol", "--server", platform.Server.Url.ToString(), "--code", "NOT-A-CODE");
        Assert.Equal(1, badCode.ExitCode);
        Assert.StartsWith("error: ", badCode.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(store));

        var missing = await RunAsync(platform, store, "send", "--text", "x");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Equal(2, (await RunAsync(platform, store)).ExitCode);
    }

    [Fact]
    public async Task TheCli_RunsTheWholeReferralFlow_FromOrientationToTheCommitteeReport()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Liège");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("AMO Liège");
        var referrer = platform.NewStorePath();
        var receiver = platform.NewStorePath();
        Assert.Equal(0, (await RunAsync(platform, referrer, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline")))).ExitCode);
        Assert.Equal(0, (await RunAsync(platform, receiver, "enrol", "--server", platform.Server.Url.ToString(), "--code",
            await platform.IssueCodeAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno")))).ExitCode);

        var orient = await RunAsync(platform, referrer, "orient", "--commune", "62063");
        Assert.True(orient.ExitCode == 0, orient.Error);
        Assert.StartsWith("62063 Liège (wallonia)", orient.Output, StringComparison.Ordinal);

        // A field outside the schema never leaves the device.
        string[] referral = ["refer", "--to", serviceY.ToString(), "--nature", "individual", "--requester", "relative", "--commune", "62063",
            "--reason", "information-or-concern", "--urgency", "normal"];
        var outside = await RunAsync(platform, referrer, [.. referral, "--name", "Jean Dupont"]);
        Assert.Equal(2, outside.ExitCode);
        Assert.Contains("--name is not a field of a referral", outside.Error, StringComparison.Ordinal);
        Assert.Equal("", (await RunAsync(platform, referrer, "referrals")).Output);

        var refer = await RunAsync(platform, referrer, referral);
        Assert.True(refer.ExitCode == 0, refer.Error);
        var caseReference = CaseLine().Match(refer.Output).Groups[1].Value;

        var seen = await RunAsync(platform, receiver, "case", "--case", caseReference);
        Assert.True(seen.ExitCode == 0, seen.Error);
        Assert.Contains("referral: individual, asked by relative, commune 62063, reason information-or-concern, urgency normal", seen.Output, StringComparison.Ordinal);
        var accept = await RunAsync(platform, receiver, "respond", "--case", caseReference, "--accept");
        Assert.True(accept.ExitCode == 0, accept.Error);
        Assert.Equal($"referral {caseReference}: accepted\n", accept.Output.ReplaceLineEndings("\n"));

        var share = await RunAsync(platform, referrer, "share-identity", "--case", caseReference, "--family-name", "Dupont", "--given-names", "Jean",
            "--birth-date", "2004-05-06", "--phone", "+32 470 12 34 56");
        Assert.True(share.ExitCode == 0, share.Error);
        var until = TimeProvider.System.GetUtcNow().AddDays(60).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var consent = await RunAsync(platform, referrer, "consent", "record", "--case", caseReference, "--for", serviceY.ToString(), "--until", until);
        Assert.True(consent.ExitCode == 0, consent.Error);
        var consentId = ConsentLine().Match(consent.Output).Groups[1].Value;
        var note = await RunAsync(platform, referrer, "case-note", "--case", caseReference, "--consent", consentId, "--text", "Synthèse de l'entretien du 3 mars.");
        Assert.True(note.ExitCode == 0, note.Error);

        var view = await RunAsync(platform, receiver, "case", "--case", caseReference);
        Assert.Contains("identity: Dupont, Jean, born 2004-05-06, +32 470 12 34 56", view.Output, StringComparison.Ordinal);
        Assert.Contains($"note (consent {consentId}): Synthèse de l'entretien du 3 mars.", view.Output, StringComparison.Ordinal);
        Assert.Contains($"{caseReference}  accepted", (await RunAsync(platform, referrer, "referrals")).Output, StringComparison.Ordinal);
        Assert.Contains("answer: accept", (await RunAsync(platform, referrer, "case", "--case", caseReference)).Output, StringComparison.Ordinal);

        var revoke = await RunAsync(platform, referrer, "consent", "revoke", "--consent", consentId);
        Assert.Contains("revoked", revoke.Output, StringComparison.Ordinal);
        var refusedNote = await RunAsync(platform, referrer, "case-note", "--case", caseReference, "--consent", consentId, "--text", "encore");
        Assert.Equal(1, refusedNote.ExitCode);
        Assert.StartsWith("error: consent.revoked", refusedNote.Error, StringComparison.Ordinal);

        var report = await RunAsync(platform, platform.StorePathOf(platform.Operator), "admin", "report", "--year",
            TimeProvider.System.GetUtcNow().Year.ToString(System.Globalization.CultureInfo.InvariantCulture), "--granularity", "year", "--format", "csv");
        Assert.True(report.ExitCode == 0, report.Error);
        Assert.StartsWith("period,partner_type,referrals_sent,accepted,declined,tripartite_proposed", report.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(caseReference, report.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex("^case ([A-Z2-7]{26})$", RegexOptions.Multiline)]
    private static partial Regex CaseLine();

    [GeneratedRegex("^consent ([0-9a-f-]{36})", RegexOptions.Multiline)]
    private static partial Regex ConsentLine();

    [GeneratedRegex("conversation ([0-9a-f-]{36})")]
    private static partial Regex ConversationId();
}
