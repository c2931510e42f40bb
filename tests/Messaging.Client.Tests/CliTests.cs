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

    [GeneratedRegex("conversation ([0-9a-f-]{36})")]
    private static partial Regex ConversationId();
}
