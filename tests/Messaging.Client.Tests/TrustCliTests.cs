using System.Text.RegularExpressions;
using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

/// <summary>The cross-signing commands of the CLI: approval codes, approving, naming unsigned devices, confirming a reset.</summary>
public sealed partial class TrustCliTests
{
    [Fact]
    public async Task TheCli_ShowsTheApprovalCode_NamesTheUnsignedDevice_ApprovesIt_AndConfirmsAReset()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Namur");
        var (_, adminY) = await platform.CreateOrganisationAsync("Ville de Charleroi");
        var camille = await platform.CreateMemberAsync(adminX, "Camille");
        var dario = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Dario"));
        var laptop = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(adminX, camille));
        var conversation = (await dario.CreateConversationAsync([camille])).ConversationId;

        // A second device of Camille waits for approval and says which code to compare.
        var phone = platform.NewStorePath();
        var enrol = await CliRunner.RunAsync(phone, "enrol", "--server", platform.Server.Url.ToString(), "--code", await platform.IssueCodeAsync(adminX, camille));
        Assert.True(enrol.ExitCode == 0, enrol.Error);
        var code = ApproveCode().Match(enrol.Output).Groups[1].Value;
        Assert.Equal(20, code.Length);

        // Dario's CLI sends, and names the phone it left out.
        var darioStore = await platform.ReleaseAsync(dario);
        var send = await CliRunner.RunAsync(darioStore, "send", "--conversation", conversation.ToString(), "--text", "Bonjour");
        Assert.True(send.ExitCode == 0, send.Error);
        Assert.Contains("unsigned device", send.Error, StringComparison.Ordinal);

        // The laptop lists the phone with its code and approves it; the next send leaves nobody out.
        var pending = await CliRunner.RunAsync(laptop, "device", "pending");
        var grouped = string.Join(' ', code.Chunk(5).Select(group => new string(group)));
        Assert.Contains(grouped, pending.Output, StringComparison.Ordinal);
        var shortCode = await CliRunner.RunAsync(laptop, "device", "approve", "--code", code[..8]);
        Assert.NotEqual(0, shortCode.ExitCode);
        Assert.Contains("20 digits", shortCode.Error, StringComparison.Ordinal);
        var approve = await CliRunner.RunAsync(laptop, "device", "approve", "--code", grouped);
        Assert.True(approve.ExitCode == 0, approve.Error);
        Assert.Contains("approved: ", (await CliRunner.RunAsync(phone, "device", "status")).Output, StringComparison.Ordinal);
        var again = await CliRunner.RunAsync(darioStore, "send", "--conversation", conversation.ToString(), "--text", "Pour les deux");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.DoesNotContain("unsigned device", again.Error, StringComparison.Ordinal);

        // Camille loses both: a reset blocks Dario's sends until he confirms the new safety number.
        var replacement = platform.NewStorePath();
        Assert.Equal(0, (await CliRunner.RunAsync(replacement, "enrol", "--server", platform.Server.Url.ToString(), "--code", await platform.IssueCodeAsync(adminX, camille))).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(replacement, "device", "reset-member-key")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(replacement, "device", "reset-member-key", "--yes")).ExitCode);
        var blocked = await CliRunner.RunAsync(darioStore, "send", "--conversation", conversation.ToString(), "--text", "Bloqué");
        Assert.Equal(1, blocked.ExitCode);
        Assert.Contains("WARNING: the signing key of member", blocked.Error, StringComparison.Ordinal);
        var show = await CliRunner.RunAsync(darioStore, "contact", "confirm", "--member", camille.ToString());
        Assert.Equal(1, show.ExitCode);
        Assert.Matches(SafetyNumber(), show.Output);
        Assert.Equal(0, (await CliRunner.RunAsync(darioStore, "contact", "confirm", "--member", camille.ToString(), "--yes")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(darioStore, "send", "--conversation", conversation.ToString(), "--text", "Après")).ExitCode);
    }

    [GeneratedRegex(@"approve --code (\d{20})")]
    private static partial Regex ApproveCode();

    [GeneratedRegex(@"safety number with member [0-9a-f-]+: (\d{5} ){11}\d{5}")]
    private static partial Regex SafetyNumber();
}
