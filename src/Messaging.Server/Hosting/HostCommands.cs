using System.Data.Common;
using System.Globalization;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Persistence;

namespace Messaging.Server.Hosting;

/// <summary>
/// Commands run on the server host instead of the web server (<c>dotnet run --project src/Messaging.Server -- &lt;command&gt;
/// …</c>). Secrets they produce (enrolment codes) are written to the given output for the human, never to a logger.
/// <list type="bullet">
/// <item><c>bootstrap --organisation &lt;name&gt; --type &lt;type&gt; --operator &lt;display name&gt; --email &lt;email&gt;</c></item>
/// <item><c>issue-code --member &lt;member id&gt;</c></item>
/// <item><c>verify-audit</c></item>
/// </list>
/// Other <c>--Section:Key value</c> pairs are passed to configuration (for example <c>--Messaging:Storage:DataDirectory</c>).
/// </summary>
internal sealed record HostCommand(string Name, IReadOnlyDictionary<string, string> Options)
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal) { "bootstrap", "issue-code", "verify-audit" };

    /// <summary>Splits the command line into a command (or null for the web server) and the configuration arguments.</summary>
    public static (HostCommand? Command, string[] ConfigurationArgs) Parse(string[] args)
    {
        if (args.Length == 0 || !Names.Contains(args[0]))
        {
            return (null, args);
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var configuration = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var key = args[i];
            var value = i + 1 < args.Length ? args[i + 1] : string.Empty;
            if (key.StartsWith("--", StringComparison.Ordinal) && key.Contains(':', StringComparison.Ordinal))
            {
                configuration.Add(key);
                configuration.Add(value);
                i++;
            }
            else if (key.StartsWith("--", StringComparison.Ordinal))
            {
                options[key[2..]] = value;
                i++;
            }
            else
            {
                throw new ArgumentException($"Unexpected argument '{key}'.");
            }
        }

        return (new HostCommand(args[0], options), [.. configuration]);
    }

    public async Task<int> RunAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken = default)
    {
        try
        {
            await services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);
            return Name switch
            {
                "bootstrap" => await BootstrapAsync(services, output, cancellationToken),
                "issue-code" => await IssueCodeAsync(services, output, cancellationToken),
                "verify-audit" => await VerifyAsync(services, output, cancellationToken),
                _ => await UnknownAsync(output),
            };
        }
        catch (MessagingException ex)
        {
            // A refusal is the operator's input, not a crash: say what was wrong, with its stable code.
            await output.WriteLineAsync($"error: {ex.Code}: {ex.Message}");
            return 2;
        }
        catch (DbException ex)
        {
            // A malformed, locked or unreadable database file: say so and fail, rather than abort with a stack trace.
            // The provider's message names the SQLite error only (no row content).
            await output.WriteLineAsync($"error: the database could not be read: {ex.Message}");
            return 1;
        }
    }

    private async Task<int> UnknownAsync(TextWriter output)
    {
        await output.WriteLineAsync($"unknown command '{Name}'; commands: bootstrap, issue-code, verify-audit");
        return 2;
    }

    private async Task<int> BootstrapAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Options.TryGetValue("organisation", out var name) || !Options.TryGetValue("operator", out var operatorName)
            || !Options.TryGetValue("email", out var email))
        {
            await output.WriteLineAsync("usage: bootstrap --organisation <name> --type <type> --operator <display name> --email <work email>");
            return 2;
        }

        var type = Options.GetValueOrDefault("type", OrganisationTypes.Operator);
        var organisation = await services.GetRequiredService<OrganisationService>()
            .CreateAsync(null, new CreateOrganisationRequest(name, type), cancellationToken);
        var member = await services.GetRequiredService<MemberService>()
            .CreateAsync(null, new CreateMemberRequest(organisation.OrganisationId, operatorName, Roles.PlatformOperator, email), cancellationToken);
        var code = await services.GetRequiredService<MemberService>().IssueEnrolmentCodeAsync(null, member.MemberId, cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"organisation {organisation.OrganisationId:D} ({organisation.Type})"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"platform operator {member.MemberId:D}"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"enrolment code {code.Code} (single use, valid until {code.ExpiresAt:O})"));
        return 0;
    }

    private async Task<int> IssueCodeAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Options.TryGetValue("member", out var text) || !Guid.TryParse(text, out var memberId))
        {
            await output.WriteLineAsync("usage: issue-code --member <member id>");
            return 2;
        }

        var code = await services.GetRequiredService<MemberService>().IssueEnrolmentCodeAsync(null, memberId, cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"enrolment code {code.Code} (single use, valid until {code.ExpiresAt:O})"));
        return 0;
    }

    private static async Task<int> VerifyAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        var database = services.GetRequiredService<IDatabase>();
        var results = new[]
        {
            await AuditLog.VerifyAsync(database, cancellationToken),
            await KeyLog.VerifyAsync(database, cancellationToken),
        };
        foreach (var result in results)
        {
            var line = result.IsIntact
                ? string.Create(CultureInfo.InvariantCulture,
                    $"{result.Chain}: intact, {result.Entries} entries, head {(result.HeadHash is null ? "-" : Convert.ToHexStringLower(result.HeadHash))}")
                : string.Create(CultureInfo.InvariantCulture, $"{result.Chain}: BROKEN at index {result.FirstBrokenIndex}");
            await output.WriteLineAsync(line);
        }

        return results.All(r => r.IsIntact) ? 0 : 1;
    }
}
