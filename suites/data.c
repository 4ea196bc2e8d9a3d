#include "envconn.h"
int main(void)
{
    return 0;
}
