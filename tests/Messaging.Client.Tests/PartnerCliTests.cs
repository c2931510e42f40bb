using System.Globalization;
using System.Text.RegularExpressions;
using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

/// <summary>The partner directory and the partner lifecycle (protocol section 9) through the command line, against the
/// real server process.</summary>
public sealed partial class PartnerCliTests
{
    private const string Namur = "5eed0000-0000-4000-8000-000000000015";

    [Fact]
    public async Task Operator_SetsAServicesCommunes_AndOrientationFollows()
    {
        await using var platform = await Platform.StartAsync();
        var worker = await EnrolWorkerAsync(platform);
        var op = await platform.ReleaseAsync(platform.Operator);

        var list = await RunAsync(op, "admin", "directory", "list");
        Assert.True(list.ExitCode == 0, list.Error);
        var lines = Lines(list.Output);
        Assert.Equal(19, lines.Length); // the 17 seeded organisations, the operator's and the worker's
        Assert.Contains($"{Namur}  Ville de Namur [local, prevention-service]  active  accepts referrals  communes: 92094", lines);
        Assert.Contains("5eed0000-0000-4000-8000-000000000009  BPS — Brussels Prevention & Security [regional (brussels), prevention-service]  active  accepts referrals  communes: -", lines);
        Assert.Contains("5eed0000-0000-4000-8000-000000000017  Maisons de justice (AGMJ) [community, justice-house]  active  no referrals  communes: -", lines);

        var unknown = await RunAsync(worker, "orient", "--commune", "53053");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("error: directory.commune-not-found: ", unknown.Error, StringComparison.Ordinal);

        var add = await RunAsync(op, "admin", "directory", "add-commune", "--nis", "53053", "--name", "Mons", "--region", "wallonia");
        Assert.True(add.ExitCode == 0, add.Error);
        Assert.Equal("53053 added\n", add.Output.ReplaceLineEndings("\n"));
        Assert.Equal("53053 already in the directory (left unchanged)\n",
            (await RunAsync(op, "admin", "directory", "add-commune", "--nis", "53053", "--name", "Bergen", "--region", "wallonia")).Output.ReplaceLineEndings("\n"));
        var communes = await RunAsync(worker, "directory", "communes");
        Assert.True(communes.ExitCode == 0, communes.Error);
        Assert.Contains("53053  Mons (wallonia)", Lines(communes.Output));
        Assert.Contains("21001  Anderlecht (brussels)", Lines(communes.Output));

        var set = await RunAsync(op, "admin", "directory", "set", "--organisation", Namur, "--communes", "92094,53053");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Equal($"{Namur}  Ville de Namur [local, prevention-service]  active  accepts referrals  communes: 53053,92094\n", set.Output.ReplaceLineEndings("\n"));
        var orient = Lines((await RunAsync(worker, "orient", "--commune", "53053")).Output);
        Assert.Equal("53053 Mons (wallonia)", orient[0]);
        Assert.Equal($"  {Namur}  Ville de Namur [local, prevention-service]", orient[1]);
        Assert.Contains("Région wallonne — dispositif régional [regional, prevention-service]", orient[2], StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(op, "admin", "directory", "set", "--organisation", Namur, "--communes", "92094")).ExitCode);
        var after = Lines((await RunAsync(worker, "orient", "--commune", "53053")).Output);
        Assert.DoesNotContain(after, l => l.Contains("Ville de Namur", StringComparison.Ordinal));
        Assert.Contains("Région wallonne — dispositif régional [regional, prevention-service]", after[1], StringComparison.Ordinal);

        // Not accepting referrals any more takes the service out of orientation for its own commune too.
        var closed = await RunAsync(op, "admin", "directory", "set", "--organisation", Namur, "--accepts-referrals", "false");
        Assert.EndsWith("active  no referrals  communes: 92094\n", closed.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Ville de Namur", (await RunAsync(worker, "orient", "--commune", "92094")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJoinRequest_IsFiledAndListed_AndAPartnersObjectionIsShown()
    {
        await using var platform = await Platform.StartAsync();
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Tournai");
        var party = await platform.ReleaseAsync(admin);
        var op = await platform.ReleaseAsync(platform.Operator);

        var join = await RunAsync(op, "admin", "partners", "join", "--name", "Ville de Mons", "--type", "prevention-service", "--level", "local", "--communes", "21009");
        Assert.True(join.ExitCode == 0, join.Error);
        var filed = JoinRequestLine().Match(join.Output);
        Assert.True(filed.Success, join.Output);
        var requestId = filed.Groups["id"].Value;
        Assert.Equal(("Ville de Mons [local, prevention-service]", "pending", "0", ""),
            (filed.Groups["what"].Value, filed.Groups["status"].Value, filed.Groups["objections"].Value, filed.Groups["mine"].Value));
        Assert.Equal(Utc(filed.Groups["filed"].Value).AddDays(30), Utc(filed.Groups["deadline"].Value));

        var listed = await RunAsync(party, "partners", "requests");
        Assert.True(listed.ExitCode == 0, listed.Error);
        Assert.Equal(join.Output, listed.Output);

        var objection = await RunAsync(party, "partners", "object", "--request", requestId, "--reason", "outside-scope");
        Assert.True(objection.ExitCode == 0, objection.Error);
        var objected = JoinRequestLine().Match(objection.Output);
        Assert.Equal((requestId, "pending", "1", " (my organisation objected)"),
            (objected.Groups["id"].Value, objected.Groups["status"].Value, objected.Groups["objections"].Value, objected.Groups["mine"].Value));
        Assert.Equal(objection.Output, (await RunAsync(party, "partners", "requests")).Output);

        // The operator sees the objection, not as its own.
        var seenByOperator = JoinRequestLine().Match((await RunAsync(op, "partners", "requests")).Output);
        Assert.Equal((requestId, "1", ""), (seenByOperator.Groups["id"].Value, seenByOperator.Groups["objections"].Value, seenByOperator.Groups["mine"].Value));
    }

    [Fact]
    public async Task AWithdrawal_IsFiledAndListed_WithItsEffectiveDate()
    {
        await using var platform = await Platform.StartAsync();
        var (organisation, admin) = await platform.CreateOrganisationAsync("Ville de Tournai");
        var party = await platform.ReleaseAsync(admin);
        var op = await platform.ReleaseAsync(platform.Operator);

        var withdraw = await RunAsync(op, "admin", "partners", "withdraw", "--organisation", organisation.ToString());
        Assert.True(withdraw.ExitCode == 0, withdraw.Error);
        var filed = WithdrawalLine().Match(withdraw.Output);
        Assert.True(filed.Success, withdraw.Output);
        Assert.Equal((organisation.ToString(), "pending"), (filed.Groups["organisation"].Value, filed.Groups["status"].Value));
        Assert.Equal(Utc(filed.Groups["filed"].Value).AddMonths(1), Utc(filed.Groups["effective"].Value));

        Assert.Equal(withdraw.Output, (await RunAsync(op, "admin", "partners", "withdrawals")).Output);
        Assert.Equal(withdraw.Output, (await RunAsync(party, "admin", "partners", "withdrawals")).Output);
        Assert.Contains($"{organisation}  Ville de Tournai [local, prevention-service]  withdrawing  accepts referrals  communes: -",
            Lines((await RunAsync(op, "admin", "directory", "list")).Output));

        var again = await RunAsync(op, "admin", "partners", "withdraw", "--organisation", organisation.ToString());
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("error: partners.withdrawn: ", again.Error, StringComparison.Ordinal);
        Assert.Equal(withdraw.Output, (await RunAsync(op, "admin", "partners", "withdrawals")).Output);
    }

    [Fact]
    public async Task AWorker_CallingAnAdminCommand_IsForbidden_AndNothingChanges()
    {
        await using var platform = await Platform.StartAsync();
        var (organisation, admin) = await platform.CreateOrganisationAsync("Ville de Tournai");
        var worker = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Wout"), connect: false));
        var op = await platform.ReleaseAsync(platform.Operator);
        var directoryBefore = await RunAsync(op, "admin", "directory", "list");
        var communesBefore = await RunAsync(op, "directory", "communes");

        string[][] refused =
        [
            ["admin", "directory", "list"],
            ["admin", "directory", "set", "--organisation", Namur, "--communes", "21009"],
            ["admin", "directory", "add-commune", "--nis", "53053", "--name", "Mons", "--region", "wallonia"],
            ["admin", "partners", "join", "--name", "Ville de Mons", "--type", "prevention-service", "--level", "local"],
            ["admin", "partners", "withdraw", "--organisation", organisation.ToString()],
            ["admin", "partners", "withdrawals"],
            ["partners", "requests"],
        ];
        foreach (var command in refused)
        {
            var result = await RunAsync(worker, command);
            Assert.True(result.ExitCode == 1, $"{string.Join(' ', command)}: {result.ExitCode} {result.Error}");
            Assert.StartsWith("error: policy.forbidden: ", result.Error, StringComparison.Ordinal);
            Assert.Equal("", result.Output);
        }

        Assert.Equal(directoryBefore.Output, (await RunAsync(op, "admin", "directory", "list")).Output);
        Assert.Equal(communesBefore.Output, (await RunAsync(op, "directory", "communes")).Output);
        var requests = await RunAsync(op, "partners", "requests");
        Assert.Equal((0, ""), (requests.ExitCode, requests.Output));
        var withdrawals = await RunAsync(op, "admin", "partners", "withdrawals");
        Assert.Equal((0, ""), (withdrawals.ExitCode, withdrawals.Output));
    }

    [Fact]
    public async Task BadPartnerCommandUsage_ExitsWith2_AndNothingIsSent()
    {
        await using var platform = await Platform.StartAsync();
        var op = await platform.ReleaseAsync(platform.Operator);
        var directoryBefore = await RunAsync(op, "admin", "directory", "list");

        string[][] wrong =
        [
            ["admin", "directory"],
            ["admin", "directory", "move"],
            ["admin", "directory", "set", "--organisation", Namur],
            ["admin", "directory", "set", "--organisation", Namur, "--level", "provincial"],
            ["admin", "directory", "set", "--organisation", Namur, "--accepts-referrals", "yes"],
            ["admin", "directory", "set", "--organisation", Namur, "--communes", "92094,Namur"],
            ["admin", "directory", "set", "--organisation", "Namur", "--communes", "92094"],
            ["admin", "directory", "add-commune", "--nis", "53053", "--name", "Mons"],
            ["admin", "partners", "join", "--name", "Ville de Mons", "--type", "operator", "--level", "local"],
            ["admin", "partners", "join", "--name", "Ville de Mons", "--type", "prevention-service"],
            ["admin", "partners", "withdraw"],
            ["partners"],
            ["partners", "object", "--request", Guid.NewGuid().ToString(), "--reason", "because"],
        ];
        foreach (var command in wrong)
        {
            var result = await RunAsync(op, command);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', command)}: {result.ExitCode} {result.Error}");
            Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("options are --name value pairs", result.Error, StringComparison.Ordinal); // the command itself was read
        }

        Assert.Equal(directoryBefore.Output, (await RunAsync(op, "admin", "directory", "list")).Output);
        Assert.Equal("", (await RunAsync(op, "partners", "requests")).Output);
    }

    private static async Task<string> EnrolWorkerAsync(Platform platform)
    {
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Tournai");
        return await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Wout"), connect: false));
    }

    private static Task<(int ExitCode, string Output, string Error)> RunAsync(string store, params string[] args) => CliRunner.RunAsync(store, args);

    private static string[] Lines(string output) => output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static DateTimeOffset Utc(string value) => DateTimeOffset.ParseExact(value, "u", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [GeneratedRegex(@"^(?<id>[0-9a-f-]{36})  (?<what>.+?)  (?<status>pending|admitted|rejected)  filed (?<filed>\S+ \S+)  objections until (?<deadline>\S+ \S+): (?<objections>\d+)(?<mine>( \(my organisation objected\))?)\r?$", RegexOptions.Multiline)]
    private static partial Regex JoinRequestLine();

    [GeneratedRegex(@"^(?<id>[0-9a-f-]{36})  organisation (?<organisation>[0-9a-f-]{36})  (?<status>pending|effective)  filed (?<filed>\S+ \S+)  effective (?<effective>\S+ \S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex WithdrawalLine();
}
