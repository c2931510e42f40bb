using System.Globalization;
using System.Text;
using Messaging.Client;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.KeyStore;

namespace Messaging.Cli;

/// <summary>
/// The worker's command line over the client SDK. Every command opens the device's encrypted key store (passphrase
/// from <c>MESSAGING_PASSPHRASE</c> or an interactive prompt), connects, does one thing and leaves.
/// Exit codes: 0 done, 1 refused or failed (the message says why), 2 wrong usage.
/// </summary>
internal sealed partial class CliApp(TextWriter output, TextWriter error, Func<string> readPassphrase, Func<string, string?> environment)
{
    private const string Usage = """
        usage: messaging <command> [options]   (--store PATH, default ~/.messaging/device.mks)
          any --NAME VALUE may be given as --NAME-file PATH (UTF-8, or /dev/stdin): give case content — a name, an
          identity, a note, a message — that way, so it stays out of shell history and other users' process lists
          enrol --server URL --code CODE         enrol this device with a one-time code
          whoami                                 who this device is
          directory [--organisation ID]          organisations and members
          conversations                          list my conversations
          conversations create --with ID[,ID…] [--collective]
          conversations add-member --conversation ID --member ID
          conversations remove-member --conversation ID --member ID
          send --conversation ID --text TEXT     send an end-to-end encrypted message
          listen [--seconds N]                   print messages as they arrive (Ctrl+C to stop)
          inbox [--conversation ID]              decrypted messages kept on this device
          inbox prune [--older-than-days N] [--keep N]   delete kept messages older than N days / beyond the newest N
          safety-number --member ID              compare these digits with the other person
          devices [--member ID]                  devices in the verified key log
          orient --commune NIS                   services accepting referrals for a commune, local first
          refer --to ORG --record FILE.json      refer a person (fields: nature, requester, commune,
                                                 followUpOngoing, reason, urgency — nothing else), or with
                --nature N --requester R --commune NIS --reason R --urgency U [--follow-up-ongoing]
          referrals                              my service's referrals and their status
          cases                                  case references known on this device
          case --case REF [--save-attachments DIR]   what this device holds for a case, decrypted;
                                                 fetches, checks and decrypts the notes' files into DIR
          respond --case REF (--accept | --tripartite | --decline REASON)
          withdraw --case REF
          share-identity --case REF --family-name F --given-names G [--birth-date yyyy-MM-dd]
                [--phone P] [--email E] [--address A]  after acceptance, to the accepting service only
          consent record --case REF --for ORG --until yyyy-MM-dd
          consent revoke --consent ID
          consent list --case REF
          case-note --case REF --consent ID [--text T] [--attach FILE --media-type TYPE]
                                                 FILE (≤ 25 MiB) is encrypted here and uploaded as a blob
          directory communes                     communes of the directory (NIS code, name, region)
          partners requests                      join requests, deadlines, objections (org admins, operator)
          partners object --request ID --reason not-public-entity|outside-scope|conflict-of-mission|other
          device status | device pending | device approve --code DIGITS | device reset-member-key --yes
          contact confirm --member ID [--yes]    accept a contact's new member key after a reset
          admin create-organisation --name N --type T
          admin create-member --organisation ID --name N --role R --email E
          admin issue-code --member ID
          admin revoke-device --device ID
          admin report --year Y [--granularity month|quarter|year] [--format csv|json]
          admin directory list                   every service: level, status, referrals, communes
          admin directory set --organisation ID [--level local|regional|community] [--region brussels|wallonia]
                [--accepts-referrals true|false] [--communes NIS,NIS,…]   (--communes replaces the list)
          admin directory add-commune --nis CODE --name NAME --region brussels|wallonia
          admin partners join --name N --type prevention-service|coordination|justice-house --level L
                [--region R] [--communes NIS,…] [--accepts-referrals true|false]   (default true)
          admin partners withdraw --organisation ID   effective after the notice period
          admin partners withdrawals
        """;

    public static string ConsolePassphrase()
    {
        Console.Error.Write("passphrase: ");
        var builder = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return builder.ToString();
            }

            if (key.Key == ConsoleKey.Backspace && builder.Length > 0)
            {
                builder.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                builder.Append(key.KeyChar);
            }
        }
    }

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await output.WriteLineAsync(Usage);
            await output.WriteLineAsync(TrustUsage);
            await output.WriteLineAsync(NoticeUsage);
            await output.WriteLineAsync(InterviewUsage);
            return args.Length == 0 ? 2 : 0;
        }

        // admin commands may take two words (admin directory list); AdminAsync reads its options after the first.
        Options? options;
        try
        {
            options = Options.Parse(args.Skip(args[0] == "admin" ? 2 : 1));
        }
        catch (UsageException ex)
        {
            // A --NAME-file that cannot be read, or a value given twice.
            await error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }

        if (options is null)
        {
            await error.WriteLineAsync("error: options are --name value pairs");
            return 2;
        }

        try
        {
            return args[0] switch
            {
                "enrol" => await EnrolAsync(options, cancellationToken),
                "verify-certificate" => await VerifyCertificateAsync(args, options, cancellationToken),
                "admin" => await AdminAsync(args, cancellationToken),
                _ => await WithClientAsync(options, client => DispatchAsync(args, options, client, cancellationToken), cancellationToken),
            };
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        catch (KeyStoreLockedException ex)
        {
            // One owner per key store: a second process is refused rather than racing the first one's saves.
            await error.WriteLineAsync(ex.HolderProcessId is { } pid
                ? string.Create(CultureInfo.InvariantCulture, $"error: this device's key store is in use by process {pid} (a device is used by one process at a time: stop that process, e.g. 'messaging listen', then retry)")
                : "error: this device's key store is in use by another process (a device is used by one process at a time: stop it, then retry)");
            return 1;
        }
        catch (KeyStoreConflictException ex)
        {
            // Never forced: the file on disk is not the one this process read, so writing over it could lose keys.
            await error.WriteLineAsync($"error: the key store changed on disk while this command ran; nothing more was saved. {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is MessagingClientException or CryptoException or HttpRequestException or InvalidOperationException)
        {
            await error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
    }

    private async Task<int> DispatchAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args[0])
        {
            case "whoami":
                var me = await client.WhoAmIAsync(cancellationToken);
                await output.WriteLineAsync($"device {me.DeviceId}\nmember {me.MemberId}\norganisation {me.OrganisationId}\nrole {me.Role}");
                return 0;
            case "directory" when args.ElementAtOrDefault(1) != "communes":
                var organisations = await client.ListOrganisationsAsync(cancellationToken);
                var members = await client.ListMembersAsync(options.OptionalGuid("organisation"), cancellationToken);
                foreach (var organisation in organisations)
                {
                    await output.WriteLineAsync($"{organisation.OrganisationId}  {organisation.Name} ({organisation.Type})");
                    foreach (var member in members.Where(m => m.OrganisationId == organisation.OrganisationId))
                    {
                        await output.WriteLineAsync($"  {member.MemberId}  {member.DisplayName} [{member.Role}] {member.ActiveDeviceIds.Count} device(s)");
                    }
                }

                return 0;
            case "conversations" when args.Length > 1 && args[1] == "create":
                var created = await client.CreateConversationAsync(options.GuidList("with"), options.Flag("collective"), cancellationToken);
                await output.WriteLineAsync($"conversation {created.ConversationId}");
                return 0;
            case "conversations" when args.Length > 1 && args[1] is "add-member" or "remove-member":
                var conversationId = options.RequiredGuid("conversation");
                var changed = args[1] == "add-member"
                    ? await client.AddConversationMemberAsync(conversationId, options.RequiredGuid("member"), cancellationToken)
                    : await client.RemoveConversationMemberAsync(conversationId, options.RequiredGuid("member"), cancellationToken);
                await output.WriteLineAsync($"conversation {changed.ConversationId} members: {string.Join(", ", changed.MemberIds)}");
                return 0;
            case "conversations" when args.Length > 1:
                throw new UsageException($"unknown conversations subcommand '{args[1]}'; run 'messaging help'");
            case "conversations":
                foreach (var conversation in await client.ListConversationsAsync(cancellationToken))
                {
                    await output.WriteLineAsync($"{conversation.ConversationId}  {(conversation.Collective ? "collective " : "")}members: {string.Join(", ", conversation.MemberIds)}");
                }

                return 0;
            case "send":
                var receipt = await client.SendTextAsync(options.RequiredGuid("conversation"), options.Required("text"), cancellationToken);
                await output.WriteLineAsync($"sent {receipt.EnvelopeId} (sequence {receipt.Sequence}, {receipt.Recipients} device(s))");
                await WriteUnreachableAsync(receipt);
                return 0;
            case "listen":
                return await ListenAsync(client, options, cancellationToken);
            case "inbox" when args.ElementAtOrDefault(1) == "prune":
                var olderThan = options.OptionalInt("older-than-days") is { } days ? TimeSpan.FromDays(days) : (TimeSpan?)null;
                var keep = options.OptionalInt("keep");
                if (olderThan is null && keep is null)
                {
                    throw new UsageException("inbox prune needs --older-than-days N and/or --keep N");
                }

                var deleted = await client.DeleteMessagesAsync(olderThan, keep, cancellationToken);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"deleted {deleted} message(s)"));
                return 0;
            case "inbox":
                var conversationFilter = options.OptionalGuid("conversation");
                foreach (var message in await client.GetInboxAsync(cancellationToken))
                {
                    if (conversationFilter is null || message.ConversationId == conversationFilter)
                    {
                        await WriteMessageAsync(message);
                    }
                }

                return 0;
            case "safety-number":
                await output.WriteLineAsync($"member safety number: {await client.GetMemberSafetyNumberAsync(options.RequiredGuid("member"), cancellationToken) ?? "(no member key yet)"}");
                foreach (var (device, number) in await client.GetSafetyNumbersAsync(options.RequiredGuid("member"), cancellationToken))
                {
                    await output.WriteLineAsync($"device {device}: {number}");
                }

                return 0;
            case "devices":
                foreach (var (device, active) in await client.GetDevicesAsync(options.OptionalGuid("member"), cancellationToken))
                {
                    await output.WriteLineAsync($"{device}  {(active ? "active" : "revoked")}{(device == client.DeviceId ? "  (this device)" : "")}");
                }

                return 0;
            default:
                return await CaseCommandAsync(args, options, client, cancellationToken)
                    ?? await PartnerCommandAsync(args, options, client, cancellationToken)
                    ?? await TrustCommandAsync(args, options, client, cancellationToken)
                    ?? await NoticeCommandAsync(args, options, client, cancellationToken)
                    ?? await InterviewCommandAsync(args, options, client, cancellationToken)
                    ?? throw new UsageException($"unknown command '{args[0]}'; run 'messaging help'");
        }
    }

    private async Task<int> ListenAsync(MessagingClient client, Options options, CancellationToken cancellationToken)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.OptionalInt("seconds") is { } seconds)
        {
            window.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        try
        {
            await foreach (var message in client.Messages.ReadAllAsync(window.Token))
            {
                await WriteMessageAsync(message);
            }
        }
        catch (OperationCanceledException)
        {
            // The listening window ended, or Ctrl+C.
        }

        return 0;
    }

    private Task WriteMessageAsync(InboxMessage message)
        => output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[{message.SentAt:yyyy-MM-dd HH:mm:ss}Z] {message.ConversationId} {message.SenderMemberId}: {(message.Kind == EnvelopeKind.Chat ? Printable(message.Text) : $"<{EnvelopeKinds.Name(message.Kind)}, {message.Body.Length} bytes>")}"));

    /// <summary>Text another person wrote, made safe to print on one line of a terminal: a line break shows as <c>⏎</c>,
    /// and any other control or format character (carriage return, escape sequences, direction overrides) as <c>�</c>,
    /// so that a message cannot forge a line that seems to come from someone else, or hide part of itself.</summary>
    internal static string Printable(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        var printable = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            printable.Append(c switch
            {
                '\n' => '⏎',
                _ when char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format => '\uFFFD',
                _ => c,
            });
        }

        return printable.ToString();
    }

    private async Task<int> EnrolAsync(Options options, CancellationToken cancellationToken)
    {
        var server = new Uri(options.Required("server"));
        var path = StorePath(options);
        // A bare file name ("op.mks") has no directory part: create the directory of its full path.
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var passphrase = new Passphrase(Passphrase());
        await using var client = await MessagingClient.EnrolAsync(server, options.Required("code"), path, passphrase, ClientOptions(), cancellationToken);
        await output.WriteLineAsync($"enrolled device {client.DeviceId} for member {client.MemberId} ({client.Role}); keys stored in {path}");
        if (!client.IsApproved)
        {
            await WriteApprovalCodeAsync(client);
        }
        return 0;
    }

    private async Task<int> AdminAsync(string[] args, CancellationToken cancellationToken)
    {
        if (args.Length < 2)
        {
            throw new UsageException("admin needs a subcommand; run 'messaging help'");
        }

        var options = Options.Parse(args.Skip(2)) ?? throw new UsageException("options are --name value pairs");
        return await WithClientAsync(options, async client =>
        {
            var token = await client.GetAccessTokenAsync(cancellationToken);
            switch (args[1])
            {
                case "create-organisation":
                    var organisation = await client.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest(options.Required("name"), options.Required("type")), cancellationToken);
                    await output.WriteLineAsync($"organisation {organisation.OrganisationId}");
                    return 0;
                case "create-member":
                    var member = await client.Api.CreateMemberAsync(token, new CreateMemberRequest(options.RequiredGuid("organisation"), options.Required("name"), options.Required("role"), options.Required("email")), cancellationToken);
                    await output.WriteLineAsync($"member {member.MemberId}");
                    return 0;
                case "issue-code":
                    var code = await client.Api.IssueEnrolmentCodeAsync(token, options.RequiredGuid("member"), cancellationToken);
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"enrolment code {code.Code} (valid until {code.ExpiresAt:u}) — give it to the member by a separate channel"));
                    return 0;
                case "report":
                    var year = options.OptionalInt("year") ?? throw new UsageException("--year is required");
                    await output.WriteLineAsync(await client.Api.GetReferralReportAsync(token, year, options.Optional("granularity") ?? ReportGranularities.Quarter,
                        options.Optional("format") ?? "csv", cancellationToken));
                    return 0;
                case "revoke-device":
                    await client.Api.RevokeDeviceAsync(token, options.RequiredGuid("device"), cancellationToken);
                    await output.WriteLineAsync("revoked");
                    return 0;
                default:
                    return await AdminPartnerCommandAsync(args, options, client, token, cancellationToken)
                        ?? throw new UsageException($"unknown admin command '{args[1]}'");
            }
        }, cancellationToken, connect: false);
    }

    private async Task<int> WithClientAsync(Options options, Func<MessagingClient, Task<int>> action, CancellationToken cancellationToken, bool connect = true)
    {
        using var passphrase = new Passphrase(Passphrase());
        await using var client = await MessagingClient.OpenAsync(StorePath(options), passphrase, ClientOptions(), cancellationToken);
        WatchTrust(client);
        if (connect)
        {
            await client.ConnectAsync(cancellationToken);
        }

        return await action(client);
    }

    private MessagingClientOptions ClientOptions()
        => environment("MESSAGING_KEYSTORE_COST") == "interactive"
            ? new MessagingClientOptions { KeyStore = KeyStoreOptions.Interactive }
            : new MessagingClientOptions();

    private string Passphrase() => environment("MESSAGING_PASSPHRASE") is { Length: > 0 } fromEnvironment ? fromEnvironment : readPassphrase();

    private string StorePath(Options options)
        => options.Optional("store") ?? environment("MESSAGING_STORE")
            ?? Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".messaging", "device.mks");

    private sealed class UsageException(string message) : Exception(message);

    /// <summary><c>--name value</c> pairs and bare <c>--flag</c>s.</summary>
    private sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

        public static Options? Parse(IEnumerable<string> args)
        {
            var options = new Options();
            var list = args.ToList();
            for (var i = 0; i < list.Count; i++)
            {
                if (!list[i].StartsWith("--", StringComparison.Ordinal))
                {
                    if (i == 0)
                    {
                        continue; // a subcommand word, such as "create"
                    }

                    return null;
                }

                var name = list[i][2..];
                if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    var value = list[++i];
                    if (name.EndsWith(FileSuffix, StringComparison.Ordinal) && name.Length > FileSuffix.Length)
                    {
                        // --text-file PATH gives --text from a file (or /dev/stdin): what it holds is never a command-line
                        // argument, which the shell's history and other local users' process lists would show.
                        name = name[..^FileSuffix.Length];
                        value = ReadValueFile(name, value);
                    }

                    if (!options._values.TryAdd(name, value))
                    {
                        throw new UsageException($"--{name} is given twice (directly and from a file?)");
                    }
                }
                else
                {
                    options._flags.Add(name);
                }
            }

            return options;
        }

        /// <summary>The largest value a <c>--NAME-file</c> gives.</summary>
        public const int MaxValueFileBytes = 1024 * 1024;

        private const string FileSuffix = "-file";

        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        /// <summary>A value from a file: UTF-8, at most <see cref="MaxValueFileBytes"/>, one final line break dropped (what an
        /// editor or <c>echo</c> adds).</summary>
        private static string ReadValueFile(string name, string path)
        {
            byte[] bytes;
            try
            {
                using var file = File.OpenRead(path);
                bytes = new byte[MaxValueFileBytes + 1];
                var read = 0;
                for (int n; read < bytes.Length && (n = file.Read(bytes, read, bytes.Length - read)) > 0;)
                {
                    read += n;
                }

                if (read > MaxValueFileBytes)
                {
                    throw new UsageException($"--{name}-file: the file is larger than {MaxValueFileBytes / 1024} KiB");
                }

                Array.Resize(ref bytes, read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--{name}-file: cannot read {path}: {e.Message}");
            }

            string text;
            try
            {
                text = StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new UsageException($"--{name}-file: the file is not UTF-8 text");
            }

            return text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        }

        /// <summary>Every option name given, values and flags.</summary>
        public IEnumerable<string> Names => _values.Keys.Concat(_flags);

        public string? Optional(string name) => _values.GetValueOrDefault(name);

        public string Required(string name) => Optional(name) ?? throw new UsageException($"--{name} is required");

        public bool Flag(string name) => _flags.Contains(name);

        public Guid RequiredGuid(string name) => ParseGuid(name, Required(name));

        public Guid? OptionalGuid(string name) => Optional(name) is { } value ? ParseGuid(name, value) : null;

        public int? OptionalInt(string name)
            => Optional(name) is { } value ? int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : throw new UsageException($"--{name} takes a whole number") : null;

        public IReadOnlyList<Guid> GuidList(string name) => [.. Required(name).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => ParseGuid(name, v))];

        private static Guid ParseGuid(string name, string value)
            => Guid.TryParse(value, CultureInfo.InvariantCulture, out var id) ? id : throw new UsageException($"--{name} takes an id (a GUID), got '{value}'");
    }
}
