namespace Messaging.Client.Cases;

/// <summary>
/// A referral, identity share, referral answer or case note does not fit its closed schema (a field outside the
/// allow-list, a missing or malformed field). Raised on the sending device before anything is encrypted or sent, and on
/// the receiving device for a decrypted record that does not fit. Fix the record; nothing was sent or stored.
/// The message names the field, never its value.
/// </summary>
public sealed class CaseRecordException : MessagingClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="field">The offending field's name (as in the JSON form), or the record's name for a whole-record fault.</param>
    /// <param name="message">What is wrong, without the value.</param>
    public CaseRecordException(string field, string message)
        : base(message)
    {
        Field = field;
    }

    /// <summary>The offending field (JSON name).</summary>
    public string Field { get; }
}
