namespace Messaging.Crypto.CrossSigning;

/// <summary>A membership statement that does not continue a conversation's log, is not allowed at its point, or is not
/// signed by a key trusted for its actor. The log must not be used; nothing was changed.</summary>
/// <param name="index">The index of the statement refused.</param>
/// <param name="message">Why, without key material.</param>
public sealed class MembershipStatementRejectedException(long index, string message) : CryptoException(message)
{
    /// <summary>The index of the statement refused.</summary>
    public long Index { get; } = index;
}

/// <summary>
/// The state a conversation's membership log leads to (docs/crypto.md §12): who created it, who its members are, and the
/// head (the next index and the last statement's hash). Immutable: <see cref="Append"/> returns the next state. The
/// rules are the server's: index 0 is a Create by the creator (who is among the members) or a LegacySnapshot by one of
/// the members it lists; after it, a current member adds someone not yet a member, and a member removes itself, or the
/// creator removes another member.
/// </summary>
public sealed class MembershipLog
{
    private readonly byte[] _head;
    private readonly HashSet<Guid> _members;

    private MembershipLog(Guid conversationId, long nextIndex, byte[] head, Guid creator, bool collective, HashSet<Guid> members)
    {
        ConversationId = conversationId;
        NextIndex = nextIndex;
        _head = head;
        Creator = creator;
        Collective = collective;
        _members = members;
    }

    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; }

    /// <summary>How many statements the log holds (the index of the next one).</summary>
    public long NextIndex { get; }

    /// <summary>The hash of the last statement (32 zero bytes while the log is empty).</summary>
    public ReadOnlySpan<byte> Head => _head;

    /// <summary>The creator the first statement names (empty while the log is empty).</summary>
    public Guid Creator { get; }

    /// <summary>Whether the first statement marks the conversation collective.</summary>
    public bool Collective { get; }

    /// <summary>The members the log leads to.</summary>
    public IReadOnlySet<Guid> Members => _members;

    /// <summary>Whether the log holds no statement (a conversation created before membership was signed).</summary>
    public bool IsEmpty => NextIndex == 0;

    /// <summary>The log of <paramref name="conversationId"/> before its first statement.</summary>
    public static MembershipLog Empty(Guid conversationId) => new(conversationId, 0, new byte[MembershipStatement.HashLength], Guid.Empty, false, []);

    /// <summary>
    /// Replays <paramref name="statements"/> from the empty log: each must parse, continue the chain, be allowed at its
    /// point, and verify under a key <paramref name="trustedKeys"/> returns for its actor (the keys this verifier trusts
    /// for that member; none when it trusts none).
    /// </summary>
    /// <exception cref="MembershipStatementRejectedException">A statement is malformed, out of place, not allowed, or not
    /// signed by a trusted key of its actor.</exception>
    public static MembershipLog Verify(Guid conversationId, IReadOnlyList<byte[]> statements, Func<Guid, IEnumerable<byte[]>> trustedKeys)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ArgumentNullException.ThrowIfNull(trustedKeys);
        var log = Empty(conversationId);
        foreach (var encoded in statements)
        {
            if (!MembershipStatement.TryParse(encoded, out var statement))
            {
                throw new MembershipStatementRejectedException(log.NextIndex, $"Membership statement {log.NextIndex} is malformed.");
            }

            var next = log.Append(statement!);
            if (!trustedKeys(statement!.Actor).Any(key => statement.VerifiesUnder(key)))
            {
                throw new MembershipStatementRejectedException(statement.Index, $"Membership statement {statement.Index} is not signed by a key trusted for member {statement.Actor}.");
            }

            log = next;
        }

        return log;
    }

    /// <summary>The state after <paramref name="statement"/>, which must continue this log and be allowed at its point
    /// (its signature is the caller's to check).</summary>
    /// <exception cref="MembershipStatementRejectedException">It does not continue the log, or is not allowed.</exception>
    public MembershipLog Append(MembershipStatement statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        var index = statement.Index;
        if (statement.ConversationId != ConversationId || index != NextIndex || !statement.PreviousHash.SequenceEqual(_head))
        {
            throw new MembershipStatementRejectedException(index, $"Membership statement {index} does not continue the log of conversation {ConversationId} at index {NextIndex}.");
        }

        var actor = statement.Actor;
        switch (statement.Operation)
        {
            case MembershipOperation.Create when IsEmpty && actor == statement.Creator && statement.Members.Contains(actor):
            case MembershipOperation.LegacySnapshot when IsEmpty && statement.Members.Contains(actor):
                return new MembershipLog(ConversationId, 1, statement.Hash(), statement.Creator, statement.Collective, [.. statement.Members]);
            case MembershipOperation.Add when !IsEmpty && _members.Contains(actor) && !_members.Contains(statement.Members[0]):
                return Next(statement, [.. _members, statement.Members[0]]);
            case MembershipOperation.Remove when !IsEmpty && _members.Contains(actor) && _members.Contains(statement.Members[0])
                && (statement.Members[0] == actor || actor == Creator):
                return Next(statement, [.. _members.Where(m => m != statement.Members[0])]);
            default:
                throw new MembershipStatementRejectedException(index, $"Membership statement {index} ({statement.Operation} by member {actor}) is not allowed at this point of the log.");
        }
    }

    /// <summary>Signs the statement that creates <paramref name="conversationId"/> with <paramref name="key"/>'s member
    /// and <paramref name="others"/>.</summary>
    public static MembershipStatement SignCreate(MemberSigningKey key, Guid conversationId, IEnumerable<Guid> others, bool collective)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.SignMembership(conversationId, 0, new byte[MembershipStatement.HashLength], MembershipOperation.Create, key.MemberId, collective, [key.MemberId, .. others]);
    }

    /// <summary>Signs the first statement of a conversation created before membership was signed: its creator, collective
    /// flag and members as the server lists them now.</summary>
    public MembershipStatement SignLegacySnapshot(MemberSigningKey key, Guid creator, bool collective, IEnumerable<Guid> members)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.SignMembership(ConversationId, NextIndex, _head, MembershipOperation.LegacySnapshot, creator, collective, members);
    }

    /// <summary>Signs the addition or removal of <paramref name="member"/> as the next statement of this log.</summary>
    public MembershipStatement SignChange(MemberSigningKey key, MembershipOperation operation, Guid member)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (operation is not (MembershipOperation.Add or MembershipOperation.Remove))
        {
            throw new ArgumentOutOfRangeException(nameof(operation), "A change adds or removes one member.");
        }

        return key.SignMembership(ConversationId, NextIndex, _head, operation, Guid.Empty, false, [member]);
    }

    private MembershipLog Next(MembershipStatement statement, HashSet<Guid> members)
        => new(ConversationId, NextIndex + 1, statement.Hash(), Creator, Collective, members);
}
